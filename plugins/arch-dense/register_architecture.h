#pragma once
/// @file register_architecture.h
/// Registers a decoder architecture's factory and memory footprint so that both read the
/// manifest's options the same way (and report inconsistent ones the same way).

#include <anvil/footprint.h>
#include <anvil/model.h>
#include <anvil/registry.h>

#include <memory>
#include <string>
#include <utility>

namespace anvil::builtin {

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
    RunContext context;
    context.vocab_size = query.vocab_size;
    return footprint(read(options, context), query);
  });
}

}  // namespace anvil::builtin
