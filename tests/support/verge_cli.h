// Runs the `verge` binary built with the tests (VERGE_BIN) for end-to-end CLI tests.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace verge::test {

// `verge ARGS 2>&1`: the exit code (-1 if it did not exit normally or could not start) and the combined
// output. ARGS go through the shell.
inline std::pair<int, std::string> verge_cli(const std::string& args) {
  const std::string cmd = std::string(VERGE_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, ""};
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// The last line of `s` (trailing newlines ignored) parsed as JSON: the `--json` result of a command.
inline nlohmann::json last_json(const std::string& s) {
  std::string t = s;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  const size_t nl = t.rfind('\n');
  return nlohmann::json::parse(nl == std::string::npos ? t : t.substr(nl + 1));
}

}  // namespace verge::test
