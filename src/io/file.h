// Whole-file read/write with errors that name the path.
#pragma once

#include <string>
#include <string_view>

#include "verge/status.h"

namespace verge {

// Fails for missing files, directories and files over `max_bytes`.
Result<std::string> read_file(const std::string& path, size_t max_bytes = size_t{1} << 34);
// Writes via a temporary file renamed into place, so a failed write never leaves a truncated file.
Status write_file(const std::string& path, std::string_view bytes);
// Replaces characters outside [A-Za-z0-9._-] with '_' (output file names from tensor names).
std::string sanitize_file_name(std::string_view name);

}  // namespace verge
