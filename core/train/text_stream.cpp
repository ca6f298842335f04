#include "train/text_stream.h"

#include <algorithm>

namespace anvil::core {
namespace {

// Bytes at the end of `text` that start an unfinished UTF-8 sequence.
std::size_t incomplete_utf8_tail(const std::string& text) {
  const std::size_t n = text.size();
  for (std::size_t back = 1; back <= std::min<std::size_t>(3, n); ++back) {
    const auto byte = static_cast<unsigned char>(text[n - back]);
    if ((byte & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    const std::size_t length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1;
    return length > back ? back : 0;
  }
  return 0;
}

}  // namespace

TextStream::TextStream(std::vector<std::string> stop_strings) : stops_(std::move(stop_strings)) {
  stops_.erase(std::remove(stops_.begin(), stops_.end(), std::string()), stops_.end());
}

bool TextStream::update(std::string text) {
  if (stopped_) return true;
  text_ = std::move(text);
  std::size_t cut = std::string::npos;
  for (const std::string& stop : stops_) cut = std::min(cut, text_.find(stop));
  if (cut != std::string::npos) {
    text_.resize(cut);
    stopped_ = true;
  }
  return stopped_;
}

std::string TextStream::take(bool final) {
  std::size_t end = text_.size();
  if (!final && !stopped_) {
    end -= incomplete_utf8_tail(text_);
    // Hold back a tail that a stop string could still complete.
    std::size_t hold = 0;
    for (const std::string& stop : stops_)
      for (std::size_t length = std::min(stop.size() - 1, end); length > hold; --length)
        if (text_.compare(end - length, length, stop, 0, length) == 0) {
          hold = length;
          break;
        }
    end -= hold;
  }
  if (end <= shown_) return {};
  std::string piece = text_.substr(shown_, end - shown_);
  shown_ = end;
  return piece;
}

}  // namespace anvil::core
