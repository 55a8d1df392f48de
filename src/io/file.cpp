#include "io/file.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace verge {
namespace fs = std::filesystem;

Result<std::string> read_file(const std::string& path, size_t max_bytes) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return Status::invalid_argument(fmt::format("'{}' is a directory, not a file", path));
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::not_found(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  f.seekg(0, std::ios::end);
  const std::streamoff size = f.tellg();
  if (size < 0) return Status::io_error(fmt::format("cannot read '{}'", path));
  if (static_cast<size_t>(size) > max_bytes)
    return Status::invalid_argument(fmt::format("'{}' is {} bytes; the limit is {}", path, size, max_bytes));
  std::string s(static_cast<size_t>(size), '\0');
  f.seekg(0);
  f.read(s.data(), size);
  if (!f) return Status::io_error(fmt::format("reading '{}' failed", path));
  return s;
}

Status write_file(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return Status::io_error(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.flush();
    if (!f) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return Status::io_error(fmt::format("writing '{}' failed", path));
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Status::io_error(fmt::format("cannot write '{}': {}", path, ec.message()));
  return Status::ok();
}

std::string sanitize_file_name(std::string_view name) {
  std::string s(name);
  for (char& c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) c = '_';
  }
  if (s.empty()) s = "_";
  return s;
}

}  // namespace verge
