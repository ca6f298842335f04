// Loading a manifest: parse the file, follow its `extends` chain, merge, apply `--set`
// overrides, collecting every problem into one ConfigError.
//
// Paths in diagnostics and in nodes' source regions are "display" paths: the main file's path
// exactly as the caller gave it, and each extended file's path joined onto the folder of the file
// that names it (lexically normalised). So a relative main path gives paths relative to the
// current directory throughout, an absolute one gives absolute paths; either way they can be
// opened again to print source lines. Nodes are moved, never copied, while merging: toml++
// drops a node's source region when it copies it.

#include "manifest/manifest.h"

#include "manifest/overrides.h"

#include <anvil/options.h>
#include <anvil/toml_text.h>

#include <algorithm>
#include <optional>
#include <system_error>
#include <utility>

namespace anvil::core {
namespace fs = std::filesystem;

namespace {

// Moves every key of `base` that `derived` lacks into `derived`. Tables present in both merge
// the same way; for any other key `derived` wins. `base` is left hollow.
void merge_under(toml::table& derived, toml::table& base) {
  for (auto&& [key, node] : base) {
    toml::node* mine = derived.get(key.str());
    if (!mine)
      derived.insert_or_assign(key, std::move(node));
    else if (mine->is_table() && node.is_table())
      merge_under(*mine->as_table(), *node.as_table());
  }
}

// Why `path` cannot be read as a manifest, or "" when it is a regular file.
std::string file_problem(const fs::path& path) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (status.type() == fs::file_type::not_found) return "file not found";
  if (error) return error.message();
  if (status.type() == fs::file_type::directory) return "it is a directory";
  if (status.type() != fs::file_type::regular) return "not a regular file";
  return {};
}

// What makes two spellings of a path the same file (for cycle detection).
fs::path identity_of(const fs::path& path) {
  std::error_code error;
  fs::path absolute = fs::absolute(path, error);
  if (error) return path.lexically_normal();
  fs::path canonical = fs::weakly_canonical(absolute, error);
  return error ? absolute.lexically_normal() : canonical;
}

Diagnostic file_diagnostic(std::string file, std::string message) {
  Diagnostic diagnostic;
  diagnostic.file = std::move(file);
  diagnostic.message = std::move(message);
  return diagnostic;
}

// Reads a file and everything it extends, depth first.
class Loader {
 public:
  explicit Loader(Diagnostics& diagnostics) : diagnostics_(diagnostics) {}

  // The merged table of the manifest file `display`, or nullopt when it could not be parsed.
  std::optional<toml::table> load_file(const std::string& display) {
    record(display);
    toml::table table;
    try {
      table = toml::parse_file(display);
    } catch (const toml::parse_error& error) {
      add_syntax_error(error, display);
      return std::nullopt;
    }
    resolve(table, display, identity_of(display), fs::path(display).parent_path());
    return table;
  }

  // The merged table of an in-memory manifest named `name`; its `extends` are relative to
  // the current directory.
  std::optional<toml::table> load_text(std::string_view text, const std::string& name) {
    files_.emplace_back(name);
    toml::table table;
    try {
      table = toml::parse(text, std::string_view(name));
    } catch (const toml::parse_error& error) {
      add_syntax_error(error, name);
      return std::nullopt;
    }
    resolve(table, name, fs::path(), fs::path());
    return table;
  }

  std::vector<fs::path> take_files() { return std::move(files_); }

 private:
  struct Frame {
    fs::path identity;
    std::string display;
  };

  void record(const std::string& display) {
    std::error_code error;
    fs::path absolute = fs::absolute(display, error).lexically_normal();
    if (error) absolute = fs::path(display);
    if (std::find(files_.begin(), files_.end(), absolute) == files_.end())
      files_.push_back(std::move(absolute));
  }

  void add_syntax_error(const toml::parse_error& error, const std::string& display) {
    Diagnostic diagnostic;
    diagnostic.file = error.source().path ? *error.source().path : display;
    diagnostic.line = error.source().begin.line;
    diagnostic.column = error.source().begin.column;
    diagnostic.message = std::string(error.description());
    diagnostics_.add(std::move(diagnostic));
  }

  // Merges what `table` extends under it and removes its `extends` key.
  void resolve(toml::table& table,
               const std::string& display,
               fs::path identity,
               const fs::path& folder) {
    const toml::node* extends = table.get("extends");
    if (!extends) return;
    chain_.push_back(Frame{std::move(identity), display});

    std::vector<const toml::node*> entries;
    if (extends->is_string()) {
      entries.push_back(extends);
    } else if (const toml::array* array = extends->as_array()) {
      for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::node* entry = array->get(i);
        if (entry->is_string())
          entries.push_back(entry);
        else
          diagnostics_.add(entry->source(), "extends[" + std::to_string(i) + "]",
                           "expected string, got " + describe_value(*entry),
                           "extends names manifest files, e.g. extends = \"base.toml\"");
      }
    } else {
      diagnostics_.add(extends->source(), "extends",
                       "expected string or array of strings, got " + describe_value(*extends),
                       "extends names manifest files, e.g. extends = [\"base.toml\"]");
    }

    // Later entries win over earlier ones, the file itself over all of them.
    toml::table base;
    for (const toml::node* entry : entries) {
      std::optional<toml::table> loaded = load_extended(*entry, folder);
      if (!loaded) continue;
      merge_under(*loaded, base);
      base = std::move(*loaded);
    }
    chain_.pop_back();
    table.erase("extends");
    merge_under(table, base);
  }

  std::optional<toml::table> load_extended(const toml::node& entry, const fs::path& folder) {
    const std::string& value = entry.as_string()->get();
    if (value.empty() || value.find('\0') != std::string::npos) {
      diagnostics_.add(entry.source(), "extends",
                       "invalid extends path " + format_toml_value(entry));
      return std::nullopt;
    }
    const std::string display = (folder / value).lexically_normal().string();
    if (const std::string problem = file_problem(display); !problem.empty()) {
      diagnostics_.add(
          entry.source(), "extends",
          "cannot extend '" + value + "': " + problem + " (looked for " + display + ")",
          "extends paths are relative to the file that names them");
      return std::nullopt;
    }
    const fs::path identity = identity_of(display);
    const auto repeated = std::find_if(chain_.begin(), chain_.end(), [&](const Frame& frame) {
      return frame.identity == identity;
    });
    if (repeated != chain_.end()) {
      std::string cycle;
      for (auto frame = repeated; frame != chain_.end(); ++frame) cycle += frame->display + " -> ";
      cycle += display;
      diagnostics_.add(entry.source(), "extends", "extends cycle: " + cycle,
                       "a manifest cannot extend itself, directly or through other files");
      return std::nullopt;
    }
    return load_file(display);
  }

  Diagnostics& diagnostics_;
  std::vector<Frame> chain_;
  std::vector<fs::path> files_;
};

// The end of Manifest::load and Manifest::parse: `root` (absent when the manifest did not parse,
// which left a diagnostic) with `overrides` applied in order, unless something went wrong so
// far, when it throws ConfigError with every problem.
toml::table with_overrides(std::optional<toml::table> root,
                           const std::vector<Override>& overrides,
                           Diagnostics& diagnostics) {
  if (root)
    for (const Override& override : overrides) apply_override(*root, override, diagnostics);
  diagnostics.throw_if_any();
  return root ? std::move(*root) : toml::table();  // moved: a copy would drop source regions
}

}  // namespace

Manifest Manifest::load(const fs::path& path, const std::vector<Override>& overrides) {
  Diagnostics diagnostics;
  const std::string display = path.string();
  Manifest manifest;
  std::error_code error;
  manifest.path_ = fs::absolute(path, error).lexically_normal();
  if (error) manifest.path_ = path;
  manifest.base_dir_ = manifest.path_.parent_path();

  if (const std::string problem = file_problem(path); !problem.empty()) {
    diagnostics.add(file_diagnostic(display, "cannot read manifest: " + problem));
    diagnostics.throw_if_any();
  }
  Loader loader(diagnostics);
  manifest.root_ = with_overrides(loader.load_file(display), overrides, diagnostics);
  manifest.files_ = loader.take_files();
  return manifest;
}

Manifest Manifest::parse(std::string_view text,
                         const std::string& name,
                         const std::vector<Override>& overrides) {
  Diagnostics diagnostics;
  Manifest manifest;
  manifest.path_ = name;
  std::error_code error;
  manifest.base_dir_ = fs::current_path(error);
  Loader loader(diagnostics);
  manifest.root_ = with_overrides(loader.load_text(text, name), overrides, diagnostics);
  manifest.files_ = loader.take_files();
  return manifest;
}

namespace {

// The manifest file a value was written in; nullopt for "--set ..." overrides and defaults.
std::optional<fs::path> written_in_file(const toml::node& value) {
  const auto& source = value.source().path;
  if (source && !source->empty() && source->rfind("--set", 0) != 0) return fs::path(*source);
  return std::nullopt;
}

}  // namespace

fs::path Manifest::resolve_path(const toml::node& value) {
  const fs::path path(value.value<std::string>().value_or(std::string()));
  if (path.is_absolute()) return path;
  if (const auto file = written_in_file(value))
    return (fs::absolute(*file).parent_path() / path).lexically_normal();
  return fs::absolute(path).lexically_normal();
}

Diagnostic Manifest::problem_at(std::string_view path, std::string message, std::string hint) const {
  const toml::node* node = root_.at_path(path).node();
  Diagnostics found;
  found.add(node ? node->source() : toml::source_region{}, std::string(path), std::move(message),
            std::move(hint));
  Diagnostic problem = found.items().front();
  if (problem.file.empty()) problem.file = path_.string();
  return problem;
}

std::string Manifest::relative_path_hint(const toml::node& value) {
  if (const auto file = written_in_file(value))
    return "a relative path in a manifest is relative to the file that sets it (" +
           fs::absolute(*file).parent_path().lexically_normal().string() + ")";
  const bool override = value.source().path && value.source().path->rfind("--set", 0) == 0;
  return std::string("a relative path ") + (override ? "given with --set" : "from a default") +
         " is relative to the current directory (" + fs::current_path().string() + ")";
}

fs::path Manifest::base_dir() const {
  return base_dir_;
}

std::string describe_value(const toml::node& value) {
  if (value.is_table()) return "table";
  std::string text = format_toml_value(value);
  if (text.size() > 40) {
    std::size_t cut = 37;  // not inside a UTF-8 sequence
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text = text.substr(0, cut) + "...";
  }
  switch (value.type()) {
    case toml::node_type::array:
      return "array " + text;
    case toml::node_type::string:
      return "string " + text;
    case toml::node_type::integer:
      return "integer " + text;
    case toml::node_type::floating_point:
      return "float " + text;
    case toml::node_type::boolean:
      return "boolean " + text;
    case toml::node_type::date:
      return "date " + text;
    case toml::node_type::time:
      return "time " + text;
    default:
      return "date-time " + text;
  }
}

}  // namespace anvil::core
