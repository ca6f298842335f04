#include "run_process.h"

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace fs = std::filesystem;

namespace anvil::test {
namespace {

fs::path temp_dir() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("anvil-e2e-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

ProcessResult run_process(const std::string& command) {
  static int counter = 0;
  const fs::path out = temp_dir() / ("out" + std::to_string(counter) + ".txt");
  const fs::path err = temp_dir() / ("err" + std::to_string(counter++) + ".txt");
  const std::string line = command + " >" + out.string() + " 2>" + err.string() + " </dev/null";
  const int status = std::system(line.c_str());
  ProcessResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = slurp(out);
  result.err = slurp(err);
  return result;
}

ProcessResult run_anvil(const std::string& arguments) {
  // Plugins come from the build tree's plugin folder only, whatever the caller's environment.
  return run_process("env -u ANVIL_PLUGIN_PATH " + std::string(ANVIL_EXECUTABLE) + " " + arguments);
}

std::string write_temp_file(const std::string& name, const std::string& text) {
  const fs::path path = temp_dir() / name;
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

bool has_row(const std::string& text, const std::vector<std::string>& cells) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    bool match = true;
    for (const std::string& cell : cells) {
      std::string word;
      if (!(words >> word) || word != cell) {
        match = false;
        break;
      }
    }
    if (match) return true;
  }
  return false;
}

}  // namespace anvil::test
