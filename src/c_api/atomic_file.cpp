#include "atomic_file.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eclip/core/error.hpp"

namespace eclip::c_abi {
namespace {

[[noreturn]] void fail(const std::string& path, const char* step, int err) {
  throw Error(Errc::invalid_argument, "cannot write \"" + path + "\": " + step + ": " + std::strerror(err));
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& text) {
  if (path.empty()) throw Error(Errc::invalid_argument, "cannot write \"\": the path is empty");
  struct stat old {};
  const bool exists = ::stat(path.c_str(), &old) == 0;
  if (exists && S_ISDIR(old.st_mode)) fail(path, "it is a directory", EISDIR);
  const mode_t mode = exists ? (old.st_mode & 07777) : 0644;

  std::vector<char> tmp(path.begin(), path.end());
  for (const char ch : std::string(".tmp.XXXXXX")) tmp.push_back(ch);
  tmp.push_back('\0');
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) fail(path, "creating a temporary file beside it", errno);
  const std::string tmp_path(tmp.data());
  auto give_up = [&](const char* step, int err) {
    ::close(fd);
    ::unlink(tmp_path.c_str());
    fail(path, step, err);
  };
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) give_up("write", n < 0 ? errno : EIO);
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, mode) != 0) give_up("fchmod", errno);
  if (::fsync(fd) != 0) give_up("fsync", errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp_path.c_str());
    fail(path, "close", err);
  }
  if (::rename(tmp_path.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_path.c_str());
    fail(path, "rename", err);
  }
}

}  // namespace eclip::c_abi
