#pragma once
// Generated text as it grows, token by token: what may be shown so far (never half a UTF-8
// character, never the start of what could become a stop string) and where a stop string ends
// the text.

#include <cstddef>
#include <string>
#include <vector>

namespace anvil::core {

class TextStream {
 public:
  explicit TextStream(std::vector<std::string> stop_strings);

  /// Replaces the text generated so far (the decoded tokens). Returns true when it now contains
  /// a stop string; text() is then cut before it.
  bool update(std::string text);
  /// The text so far, cut before a stop string once one was found.
  const std::string& text() const noexcept { return text_; }
  /// The part of text() not returned before that is safe to show now; with `final`, all of it.
  std::string take(bool final = false);
  bool stopped() const noexcept { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string text_;
  std::size_t shown_ = 0;
  bool stopped_ = false;
};

}  // namespace anvil::core
