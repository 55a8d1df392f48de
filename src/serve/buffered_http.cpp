#include "serve/buffered_http.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

namespace verge::serve {
namespace {
using Clock = std::chrono::steady_clock;

int timeout_ms(time_t sec, time_t usec) { return static_cast<int>(sec * 1000 + usec / 1000); }

// 1: ready, 0: timed out, -1: error.
int wait_for(int fd, short events, int ms) {
  pollfd p{fd, events, 0};
  int r;
  do r = ::poll(&p, 1, ms);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -1 : (r > 0 ? 1 : 0);
}

void address_of(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  const int r = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                     : ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (r != 0) return;
  char host[NI_MAXHOST] = "";
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof(host), nullptr, 0,
                    NI_NUMERICHOST) == 0)
    ip = host;
  if (addr.ss_family == AF_INET) port = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  if (addr.ss_family == AF_INET6) port = ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
}

class BufferedStream final : public httplib::Stream {
 public:
  BufferedStream(int fd, int read_ms, int write_ms)
      : fd_(fd), read_ms_(read_ms), write_ms_(write_ms), in_(new char[kReadBufferBytes]) {
    address_of(fd, true, remote_ip_, remote_port_);
    address_of(fd, false, local_ip_, local_port_);
  }

  bool is_readable() const override { return begin_ < end_ || wait_for(fd_, POLLIN, read_ms_) > 0; }
  bool is_writable() const override { return wait_for(fd_, POLLOUT, write_ms_) > 0; }

  ssize_t read(char* ptr, size_t size) override {
    if (begin_ == end_) {
      const ssize_t n = fill();
      if (n <= 0) return n;
    }
    const size_t n = std::min(size, end_ - begin_);
    std::memcpy(ptr, in_.get() + begin_, n);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (out_.size() + size <= kWriteGatherBytes) {
      out_.append(ptr, size);
      return static_cast<ssize_t>(size);
    }
    if (!flush()) return -1;
    return send_some(ptr, size);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = remote_ip_;
    port = remote_port_;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = local_ip_;
    port = local_port_;
  }
  socket_t socket() const override { return fd_; }

  // Sends what write() gathered.
  bool flush() {
    size_t done = 0;
    while (done < out_.size()) {
      const ssize_t n = send_some(out_.data() + done, out_.size() - done);
      if (n < 0) return false;
      done += static_cast<size_t>(n);
    }
    out_.clear();
    return true;
  }

  // Waits until the next request starts arriving (true) or the connection idled for `idle_seconds`, the
  // peer closed it, or the server is stopping (false: `listening` no longer holds a socket).
  bool wait_for_request(time_t idle_seconds, const std::atomic<socket_t>& listening) const {
    if (begin_ < end_) return true;
    const auto deadline = Clock::now() + std::chrono::seconds(idle_seconds);
    while (listening != INVALID_SOCKET) {
      const int r = wait_for(fd_, POLLIN, 10);
      if (r != 0) return r > 0;
      if (Clock::now() > deadline) return false;
    }
    return false;
  }

 private:
  // Sends pending output, then reads what the socket has (up to the buffer size) into the empty buffer;
  // waits up to the read timeout only when nothing is there yet. >0 bytes, 0 peer closed, -1 error or
  // timeout.
  ssize_t fill() {
    if (!flush()) return -1;  // e.g. "100 Continue" must reach the client before its body can arrive
    begin_ = end_ = 0;
    while (true) {
      const ssize_t n = ::recv(fd_, in_.get(), kReadBufferBytes, MSG_DONTWAIT);
      if (n >= 0) {
        end_ = static_cast<size_t>(n);
        return n;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      if (wait_for(fd_, POLLIN, read_ms_) <= 0) return -1;
    }
  }

  ssize_t send_some(const char* ptr, size_t size) {
    while (true) {
      const ssize_t n = ::send(fd_, ptr, size, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      if (wait_for(fd_, POLLOUT, write_ms_) <= 0) return -1;
    }
  }

  int fd_;
  int read_ms_, write_ms_;
  std::unique_ptr<char[]> in_;
  size_t begin_ = 0, end_ = 0;
  std::string out_;
  std::string remote_ip_, local_ip_;
  int remote_port_ = 0, local_port_ = 0;
};
}  // namespace

bool BufferedServer::process_and_close_socket(socket_t sock) {
  const int one = 1;
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  bool ok = false;
  {
    BufferedStream strm(sock, timeout_ms(read_timeout_sec_, read_timeout_usec_),
                        timeout_ms(write_timeout_sec_, write_timeout_usec_));
    for (size_t left = keep_alive_max_count_;
         left > 0 && svr_sock_ != INVALID_SOCKET && strm.wait_for_request(keep_alive_timeout_sec_, svr_sock_);
         --left) {
      bool closed = false;
      ok = process_request(strm, left == 1, closed, nullptr);
      ok = strm.flush() && ok;
      if (!ok || closed) break;
    }
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

}  // namespace verge::serve
