#pragma once
// A fresh, empty temporary folder for one test, removed when the test ends.

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <system_error>

namespace anvil::test {

struct TempDir {
  std::filesystem::path path;
  /// A folder named "<prefix>_<pid>_<n>" under the system's temporary directory.
  explicit TempDir(const std::string& prefix = "anvil_test") {
    static std::atomic<int> counter{0};
    path = std::filesystem::temp_directory_path() /
           (prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace anvil::test
