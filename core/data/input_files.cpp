#include "data/input_files.h"

#include <anvil/errors.h>

#include <algorithm>
#include <set>
#include <string>
#include <system_error>

namespace fs = std::filesystem;

namespace anvil::core {
namespace {

const char* const kRelativePathHint =
    "a relative path in a manifest is relative to the file that sets it";

bool is_hidden(const fs::path& name) {
  const std::string text = name.string();
  return !text.empty() && text.front() == '.';
}

bool has_wildcard(const std::string& component) {
  return component.find_first_of("*?[") != std::string::npos;
}

// A wildcard is not meant to reach hidden files and folders (".git", ".cache"), as in a shell;
// naming them explicitly (".*", ".cache") still does.
bool component_matches(const std::string& pattern, const std::string& name) {
  if (!name.empty() && name.front() == '.' && (pattern.empty() || pattern.front() != '.'))
    return false;
  return glob_match(pattern, name);
}

[[noreturn]] void throw_walk_error(const fs::path& folder, const std::error_code& error) {
  throw DataError("cannot list corpus folder '" + folder.string() + "': " + error.message());
}

// Every regular file below `folder`, hidden names skipped.
void add_folder_files(const fs::path& folder, std::vector<fs::path>& out) {
  std::error_code error;
  fs::recursive_directory_iterator it(folder, error);
  if (error) throw_walk_error(folder, error);
  for (; it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (error) throw_walk_error(folder, error);
    if (is_hidden(it->path().filename())) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(error)) out.push_back(it->path());
  }
  if (error) throw_walk_error(folder, error);
}

// An empty folder path stands for the current directory, so that results of a relative pattern
// stay relative ("a.txt", not "./a.txt").
fs::path join(const fs::path& folder, const fs::path& name) {
  return folder.empty() ? name : folder / name;
}

std::vector<fs::directory_entry> list_folder(const fs::path& folder) {
  std::vector<fs::directory_entry> entries;
  std::error_code error;
  fs::directory_iterator it(folder.empty() ? fs::path(".") : folder, error);
  if (error) return entries;  // not a folder, or unreadable: simply no match down this way
  for (; it != fs::directory_iterator(); it.increment(error)) {
    if (error) throw_walk_error(folder, error);
    entries.push_back(*it);
  }
  return entries;
}

// Adds the files below `folder` that match `parts[index..]`.
void match_glob(const fs::path& folder, const std::vector<std::string>& parts, std::size_t index,
                std::vector<fs::path>& out) {
  const std::string& part = parts[index];
  const bool last = index + 1 == parts.size();
  std::error_code error;
  if (part == "**") {
    for (const fs::directory_entry& entry : list_folder(folder)) {
      const fs::path name = entry.path().filename();
      if (is_hidden(name)) continue;
      if (last && entry.is_regular_file(error)) out.push_back(join(folder, name));
      // Symbolic links to folders are not followed, so a link cycle cannot recurse forever.
      if (entry.is_directory(error) && !entry.is_symlink(error))
        match_glob(join(folder, name), parts, index, out);
    }
    if (!last) match_glob(folder, parts, index + 1, out);  // "**" as zero folders
    return;
  }
  if (!has_wildcard(part)) {
    const fs::path next = join(folder, part);
    if (last && fs::is_regular_file(next, error)) out.push_back(next);
    if (!last && fs::is_directory(next, error)) match_glob(next, parts, index + 1, out);
    return;
  }
  for (const fs::directory_entry& entry : list_folder(folder)) {
    const fs::path name = entry.path().filename();
    if (!component_matches(part, name.string())) continue;
    if (last && entry.is_regular_file(error)) out.push_back(join(folder, name));
    if (!last && entry.is_directory(error)) match_glob(join(folder, name), parts, index + 1, out);
  }
}

// The pattern's leading components without wildcards are the folder the search starts from.
void expand_glob(const fs::path& pattern, std::vector<fs::path>& out) {
  fs::path root;
  std::vector<std::string> parts;
  for (const fs::path& component : pattern) {
    std::string text = component.string();
    if (text.empty()) continue;  // a trailing '/' yields an empty last component
    if (parts.empty() && !has_wildcard(text))
      root /= component;
    else
      parts.push_back(std::move(text));
  }
  if (parts.empty()) return;  // no wildcard: a path that does not exist
  match_glob(root, parts, 0, out);
}

std::vector<fs::path> expand_entry(const fs::path& entry) {
  std::vector<fs::path> files;
  std::error_code error;
  if (fs::is_regular_file(entry, error)) {
    files.push_back(entry);
    return files;
  }
  if (fs::is_directory(entry, error))
    add_folder_files(entry, files);
  else
    expand_glob(entry, files);
  std::sort(files.begin(), files.end());
  return files;
}

// Character class at pattern[open] == '['; on success sets `end` just past its ']'.
bool parse_class(const std::string& pattern, std::size_t open, unsigned char c, bool& matched,
                 std::size_t& end) {
  std::size_t i = open + 1;
  const bool negate = i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^');
  if (negate) ++i;
  bool found = false;
  // A ']' right after the opening (or its '!') is a member, not the end.
  for (bool first = true; i < pattern.size() && (first || pattern[i] != ']'); first = false) {
    const auto low = static_cast<unsigned char>(pattern[i]);
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      const auto high = static_cast<unsigned char>(pattern[i + 2]);
      found = found || (low <= c && c <= high);
      i += 3;
    } else {
      found = found || low == c;
      ++i;
    }
  }
  if (i >= pattern.size()) return false;  // no closing ']': the '[' is an ordinary character
  matched = found != negate;
  end = i + 1;
  return true;
}

// Whether the pattern element at `p` (not '*') matches `c`; sets `next` past the element.
bool element_matches(const std::string& pattern, std::size_t p, char c, std::size_t& next) {
  if (pattern[p] == '?') {
    next = p + 1;
    return true;
  }
  bool matched = false;
  if (pattern[p] == '[' && parse_class(pattern, p, static_cast<unsigned char>(c), matched, next))
    return matched;
  next = p + 1;
  return pattern[p] == c;
}

}  // namespace

bool glob_match(const std::string& pattern, const std::string& name) {
  // Backtracking to the latest '*' only is enough: an earlier star can never match more than
  // the latest one can absorb.
  std::size_t p = 0;
  std::size_t n = 0;
  std::size_t star_p = std::string::npos;
  std::size_t star_n = 0;
  while (n < name.size()) {
    std::size_t next = 0;
    if (p < pattern.size() && pattern[p] == '*') {
      star_p = ++p;
      star_n = n;
    } else if (p < pattern.size() && element_matches(pattern, p, name[n], next)) {
      p = next;
      ++n;
    } else if (star_p != std::string::npos) {
      p = star_p;
      n = ++star_n;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::vector<fs::path> expand_inputs(const std::vector<fs::path>& inputs,
                                    const std::function<void(std::size_t index)>& no_match) {
  std::vector<fs::path> result;
  std::set<fs::path> seen;
  for (std::size_t index = 0; index < inputs.size(); ++index) {
    const fs::path& entry = inputs[index];
    const std::vector<fs::path> files = expand_entry(entry);
    if (files.empty() && no_match) no_match(index);
    if (files.empty() && !no_match)
      throw DataError("corpus input '" + entry.string() + "' matches no file", kRelativePathHint);
    for (const fs::path& file : files) {
      std::error_code error;
      const fs::path absolute = fs::absolute(file, error);
      const fs::path key = (error ? file : absolute).lexically_normal();
      if (seen.insert(key).second) result.push_back(file);
    }
  }
  return result;
}

}  // namespace anvil::core
