#include "output_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "errors.hpp"

namespace fs = std::filesystem;

namespace eclip::cli {
namespace {

std::string reason(int err) { return std::strerror(err); }

/// Writes all of `content` to `fd`, retrying short writes and EINTR; returns 0 or the errno.
int write_all(int fd, std::string_view content) {
  while (!content.empty()) {
    const ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    content.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

fs::path folder_of(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

/// The mode a new file gets (0666 less the umask), or the replaced file's own mode.
mode_t mode_for(const std::string& target) {
  struct stat st {};
  if (::stat(target.c_str(), &st) == 0) return st.st_mode & 07777;
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

}  // namespace

void OutputFiles::check_target(std::string_view option, const std::string& path) {
  if (path.empty()) throw UsageError(fmt::format("{}: empty file name", option));
  std::error_code ec;
  if (fs::is_directory(path, ec))
    throw UsageError(fmt::format("{} \"{}\" is a directory; give a file name", option, path));
  const fs::path folder = folder_of(path);
  if (!fs::is_directory(folder, ec))
    throw UsageError(fmt::format("{} \"{}\": cannot write \"{}\": folder \"{}\" does not exist", option, path, path,
                                 folder.string()));
}

void OutputFiles::stage(const std::string& path, std::string_view content) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    // A device or pipe is not replaced by a rename (and must not be: /dev/null); write in place.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) throw IoError(fmt::format("cannot write \"{}\": {}", path, reason(errno)));
    const int err = write_all(fd, content);
    const int close_err = ::close(fd) == 0 ? 0 : errno;
    if (err || close_err) throw IoError(fmt::format("writing \"{}\" failed: {}", path, reason(err ? err : close_err)));
    return;
  }
  const fs::path target(path);
  std::string temporary = (folder_of(path) / ("." + target.filename().string() + ".eclip-XXXXXX")).string();
  const int fd = ::mkstemp(temporary.data());
  if (fd < 0) throw IoError(fmt::format("cannot write \"{}\": {}", path, reason(errno)));
  int err = ::fchmod(fd, mode_for(path)) == 0 ? 0 : errno;
  if (!err) err = write_all(fd, content);
  if (!err && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && !err) err = errno;
  if (err) {
    ::unlink(temporary.c_str());
    throw IoError(fmt::format("writing \"{}\" failed: {} (the old file, if any, is unchanged)", path, reason(err)));
  }
  try {
    staged_.push_back(Staged{path, temporary});
  } catch (...) {
    ::unlink(temporary.c_str());
    throw;
  }
}

void OutputFiles::commit() {
  for (size_t i = 0; i < staged_.size(); ++i) {
    if (::rename(staged_[i].temporary.c_str(), staged_[i].target.c_str()) != 0) {
      const int err = errno;
      const std::string target = staged_[i].target;
      staged_.erase(staged_.begin(), staged_.begin() + static_cast<std::ptrdiff_t>(i));  // renamed already
      throw IoError(fmt::format("cannot replace \"{}\": {}", target, reason(err)));
    }
  }
  // The renames are durable once their folders are synced.
  for (const Staged& s : staged_) {
    const int fd = ::open(folder_of(s.target).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      (void)::fsync(fd);  // best effort: some file systems refuse fsync on a folder
      ::close(fd);
    }
  }
  staged_.clear();
}

OutputFiles::~OutputFiles() {
  for (const Staged& s : staged_) ::unlink(s.temporary.c_str());
}

void write_file_atomically(const std::string& path, std::string_view content) {
  OutputFiles files;
  files.stage(path, content);
  files.commit();
}

}  // namespace eclip::cli
