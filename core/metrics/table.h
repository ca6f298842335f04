#pragma once
// A plain-text table with aligned columns, for listings on a terminal or in a pipe.

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

namespace anvil::core {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  /// Adds a row; it must have as many cells as the header.
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  /// Writes the header and rows, columns separated by two spaces, the last column unpadded.
  void print(std::ostream& out) const {
    std::vector<std::size_t> width(header_.size(), 0);
    const auto measure = [&](const std::vector<std::string>& row) {
      for (std::size_t i = 0; i < row.size() && i < width.size(); ++i)
        width[i] = std::max(width[i], row[i].size());
    };
    measure(header_);
    for (const auto& row : rows_) measure(row);
    const auto emit = [&](const std::vector<std::string>& row) {
      for (std::size_t i = 0; i < row.size(); ++i) {
        out << row[i];
        if (i + 1 < row.size()) out << std::string(width[i] - row[i].size() + 2, ' ');
      }
      out << "\n";
    };
    emit(header_);
    for (const auto& row : rows_) emit(row);
  }

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace anvil::core
