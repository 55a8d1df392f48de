// A one-line progress bar on stderr for long jobs (evaluation, calibration, training). On a terminal it
// redraws at most ~10 times a second; when stderr is a file or pipe (logs, CI) it prints one line at each
// 10% step instead, and always a final line.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace verge::cli {

class Progress {
 public:
  Progress(std::string label, int64_t total)
      : label_(std::move(label)), total_(total), tty_(isatty(2) != 0) {}
  void update(int64_t done, const std::string& extra = "") {
    if (!tty_) {
      const int64_t decile = total_ > 0 ? 10 * done / total_ : 10;
      if (done >= total_ || decile <= last_decile_) return;
      last_decile_ = decile;
      draw(done, extra);
      std::fputc('\n', stderr);
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (done < total_ && now - last_ < std::chrono::milliseconds(100)) return;
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
    std::fprintf(stderr, "%s%s [%s] %lld/%lld %3.0f%% %.1fs %s", tty_ ? "\r" : "", label_.c_str(),
                 bar.c_str(), static_cast<long long>(done), static_cast<long long>(total_), 100.0 * f, secs,
                 extra.c_str());
    std::fflush(stderr);
  }
  std::string label_;
  int64_t total_;
  bool tty_;
  int64_t last_decile_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace verge::cli
