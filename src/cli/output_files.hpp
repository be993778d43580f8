#pragma once
// Files the CLI writes, replaced atomically: each is written to a temporary file in the target's
// own folder, flushed to disk (fsync) and renamed over the target, so a reader sees the old file or
// the new one, never a truncated one. A command stages every file it writes and commits them
// together at its end: when anything fails first (a later write, the optimizer, a full disk) no
// target changes and no temporary is left behind.
#include <string>
#include <string_view>
#include <vector>

namespace eclip::cli {

class OutputFiles {
 public:
  OutputFiles() = default;
  /// Removes the temporaries of files staged but not committed.
  ~OutputFiles();
  OutputFiles(const OutputFiles&) = delete;
  OutputFiles& operator=(const OutputFiles&) = delete;

  /// Refuses, before any work is done, a target that can never be written: an empty path, an
  /// existing directory, a folder that does not exist. `option` names the flag in the message.
  /// Throws UsageError (exit 2).
  static void check_target(std::string_view option, const std::string& path);

  /// Writes `content` to a temporary file beside `path` and fsyncs it; the target is untouched
  /// until commit(). A target that exists and is not a regular file (/dev/stdout, a pipe) cannot
  /// be replaced: it is written in place, here. Throws IoError naming the path and the reason.
  void stage(const std::string& path, std::string_view content);

  /// Renames every staged temporary over its target, in staging order, then fsyncs the folders.
  void commit();

 private:
  struct Staged {
    std::string target, temporary;
  };
  std::vector<Staged> staged_;
};

/// One file, atomically: stage + commit.
void write_file_atomically(const std::string& path, std::string_view content);

}  // namespace eclip::cli
