#pragma once
// A run manifest: the TOML file, its `extends` chain, and command-line overrides, merged into
// one table whose every node still knows the file, line and column it came from.

#include <anvil/errors.h>

#include <toml++/toml.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace anvil::core {

/// One `--set section.key=value` override as given on the command line.
struct Override {
  std::string text;  ///< "training.steps=200"
};

/// A loaded, merged manifest.
class Manifest {
 public:
  /// Parses `path`, follows `extends` (a string or array of strings, relative to the file that
  /// names it; later entries and the file itself win over earlier ones; tables merge key by key,
  /// everything else is replaced), then applies `overrides` in order. Values are typed by TOML
  /// rules; an override value that is not valid TOML but is a bare word (letters, digits and
  /// `_-./:+`) is taken as a string. Throws ConfigError with every problem: syntax errors
  /// (file:line:col), unreadable files, cycles in `extends` (the chain named), malformed
  /// overrides. Every node keeps its source region: the main file's path as given here,
  /// extended files' paths joined onto the folder of the file naming them, "--set KEY=VALUE"
  /// for overridden values. (Copying a toml++ node drops its region; move tables instead.)
  static Manifest load(const std::filesystem::path& path, const std::vector<Override>& overrides = {});

  /// Parses a manifest held in memory (`name` is used in messages). Same rules; `extends`
  /// paths are relative to the current directory.
  static Manifest parse(std::string_view text, const std::string& name,
                        const std::vector<Override>& overrides = {});

  /// The merged table. Validation fills in defaults, so it is mutable.
  toml::table& root() { return root_; }
  const toml::table& root() const { return root_; }
  /// The main manifest file (absolute), or the name given to parse().
  const std::filesystem::path& path() const { return path_; }
  /// Every file read, main file first, then its `extends` in resolution order.
  const std::vector<std::filesystem::path>& files() const { return files_; }
  /// The main manifest's folder.
  std::filesystem::path base_dir() const;
  /// The path a string value names, resolved the way users expect wherever it was written: a
  /// relative path written in a manifest file is relative to that file's folder (so presets
  /// pulled in by `extends` keep working); one from `--set` or a default is relative to the
  /// current directory. Absolute paths are returned as they are.
  static std::filesystem::path resolve_path(const toml::node& value);
  /// How resolve_path read a relative path, for a hint: "a relative path in a manifest is
  /// relative to the file that sets it (DIR)" or "a relative path given with --set is relative
  /// to the current directory (DIR)".
  static std::string relative_path_hint(const toml::node& value);
  /// A problem with the value at `path` ("training.warmup_steps"), placed at the line that set
  /// it (a manifest file or a --set override); at the manifest itself when nothing did.
  Diagnostic problem_at(std::string_view path, std::string message, std::string hint = {}) const;

 private:
  toml::table root_;
  std::filesystem::path path_;
  std::vector<std::filesystem::path> files_;
  std::filesystem::path base_dir_;  // the main file's folder, or the current one for parse()
};

// The manifest as text (what `anvil check --dump` prints): anvil::format_toml, and a value in a
// message: anvil::format_toml_value (<anvil/toml_text.h>).

/// A value's type and text for "got ..." messages: `integer 5`, `string "x"`, `array [1, 2]`,
/// `table`; the same words as the SDK's option validation. Text over 40 bytes is cut to 37
/// (at a UTF-8 boundary) and ends in "...".
std::string describe_value(const toml::node& value);

/// The value at `path` ("training.steps") of a validated manifest's `root`. Validation fills in
/// every default from the schema, so the readers of the core's sections state no default of
/// their own; a missing or mistyped key is a programming error (anvil::Error "internal: ...").
template <typename T>
T validated_value(const toml::table& root, std::string_view path) {
  const std::optional<T> value = root.at_path(path).template value<T>();
  ANVIL_CHECK(value.has_value(), "internal: manifest key ", path, " is not set after validation");
  return *value;
}

}  // namespace anvil::core
