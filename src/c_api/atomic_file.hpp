#pragma once
// Writing a file so that a failure never loses the old one.
#include <string>

namespace eclip::c_abi {

/// Writes `text` to `path` through a temporary file in the same directory (written, flushed to
/// disk, then renamed over `path`), so readers see the old file or the new one, never a part. On
/// any failure the temporary file is removed, the old file is intact, and Errc::invalid_argument
/// names the path and the system's reason. A new file gets mode 0644, a replaced one keeps its mode.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace eclip::c_abi
