#include "io/durable_file.h"

#include <anvil/errors.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace anvil::core {

DurableFile::DurableFile(std::filesystem::path path, std::string kind, std::string hint)
    : path_(std::move(path)), kind_(std::move(kind)), hint_(std::move(hint)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("cannot create");
}

DurableFile::~DurableFile() {
  if (fd_ >= 0) ::close(fd_);
}

void DurableFile::write(const void* data, std::size_t size) {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd_, bytes, size);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) fail("cannot write");
    bytes += written;
    size -= static_cast<std::size_t>(written);
  }
}

void DurableFile::sync_and_close() {
  if (::fsync(fd_) != 0) fail("cannot sync");
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("cannot close");
}

void DurableFile::fail(const char* what) const {
  const std::string error = std::generic_category().message(errno);
  throw DataError(std::string(what) + (kind_.empty() ? "" : " " + kind_) + " '" + path_.string() +
                      "': " + error,
                  hint_);
}

}  // namespace anvil::core
