#pragma once
/// @file evaluator.h
/// Interface of evaluator components (kind "evaluator").

#include <anvil/component.h>
#include <anvil/export.h>
#include <anvil/metrics.h>
#include <anvil/tensor_types.h>

namespace anvil {

class Model;      ///< anvil/model.h
class Tokenizer;  ///< anvil/tokenizer.h

/// A finite, restartable sequence of evaluation batches.
class ANVIL_SDK_API BatchSource {
 public:
  /// Destroys the source.
  virtual ~BatchSource();
  /// Stores the next batch in `batch` and returns true, or returns false at the end.
  virtual bool next(Batch& batch) = 0;
  /// Starts again from the first batch.
  virtual void reset() = 0;
};

/// What an evaluator is given: the model (in eval mode, under no_grad), the data, and the
/// tokenizer (for metrics that need text, such as bits per byte or BLEU).
struct EvalInput {
  Model& model;
  BatchSource& data;
  const Tokenizer* tokenizer = nullptr;  ///< may be null
  /// UTF-8 bytes of source text per target token of `data` (from the prepared dataset), so
  /// that bits per byte count the text as it was, not as the tokens decode (special tokens
  /// would add bytes); 0 when unknown, and evaluators then decode the targets instead.
  double bytes_per_token = 0;
};

/// Measures a model on an evaluation set.
class ANVIL_SDK_API Evaluator : public Component {
 public:
  /// The kind this interface is registered as (Registry::add<T>).
  static constexpr ComponentKind kKind = ComponentKind::evaluator;

  /// Runs over all of `input.data` (after reset()) and returns named metrics.
  virtual Metrics evaluate(EvalInput& input) = 0;
};

}  // namespace anvil
