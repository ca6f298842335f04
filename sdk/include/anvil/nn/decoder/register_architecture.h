#pragma once
/// @file register_architecture.h
/// Registers a decoder architecture's factory and memory footprint so that both read the
/// manifest's options the same way (and report inconsistent ones the same way).

#include <anvil/footprint.h>
#include <anvil/model.h>
#include <anvil/registry.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace anvil::nn {

/// `read(options, context)` turns validated options into the architecture's options struct
/// (throwing on problems), `make(struct, context)` builds the model, `footprint(struct, query)`
/// computes its memory without building it.
template <class Read, class Make, class Footprint>
void register_architecture(Registry& registry, std::string name, std::string description,
                           OptionSchema schema, Read read, Make make, Footprint footprint) {
  registry.add<Model>(name, std::move(description), std::move(schema),
                      [read, make](const Options& options, const RunContext& context) -> std::unique_ptr<Model> {
                        return make(read(options, context), context);
                      });
  registry.add_model_footprint(std::move(name), [read, footprint](const Options& options, const FootprintQuery& query) {
    // The footprint runs while the manifest is validated (anvil check, and anvil train before
    // any work): a training sequence the positions cannot hold is refused there, at the key.
    const auto max_seq_len = options.get<std::int64_t>("max_seq_len");
    if (query.seq_len > max_seq_len)
      options.error("max_seq_len",
                    std::to_string(max_seq_len) + " positions are fewer than training.seq_len = " +
                        std::to_string(query.seq_len),
                    "raise max_seq_len to at least " + std::to_string(query.seq_len) +
                        ", or lower training.seq_len");
    RunContext context;
    context.vocab_size = query.vocab_size;
    return footprint(read(options, context), query);
  });
}

}  // namespace anvil::nn
