// A one-line progress bar on stderr for long jobs (evaluation, calibration, training). Redraws at most
// ~10 times a second; prints nothing when stderr is not a terminal, except a final line.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace verge::cli {

class Progress {
 public:
  Progress(std::string label, int64_t total) : label_(std::move(label)), total_(total), tty_(isatty(2) != 0) {}
  void update(int64_t done, const std::string& extra = "") {
    const auto now = std::chrono::steady_clock::now();
    if (!tty_ || (done < total_ && now - last_ < std::chrono::milliseconds(100))) return;
    last_ = now;
    draw(done, extra);
  }
  void finish(const std::string& extra = "") {
    draw(total_, extra);
    std::fputc('\n', stderr);
  }

 private:
  void draw(int64_t done, const std::string& extra) {
    constexpr int kWidth = 30;
    const double f = total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
    const int fill = static_cast<int>(f * kWidth);
    std::string bar(static_cast<size_t>(fill), '=');
    if (fill < kWidth) bar += '>';
    bar.resize(kWidth, ' ');
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::fprintf(stderr, "%s%s [%s] %lld/%lld %3.0f%% %.1fs %s", tty_ ? "\r" : "", label_.c_str(), bar.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total_), 100.0 * f, secs, extra.c_str());
    std::fflush(stderr);
  }
  std::string label_;
  int64_t total_;
  bool tty_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace verge::cli
