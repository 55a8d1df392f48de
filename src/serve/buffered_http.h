// A plain-HTTP cpp-httplib server whose connections read through one large buffer.
//
// Why: Debian's cpp-httplib is a compiled library built with CPPHTTPLIB_RECV_BUFSIZ = 4 KiB, and its
// socket stream does a poll() and a recv() per 4 KiB: a 602 KB binary tensor body (one 224x224 FP32
// image) cost ~150 recv + ~155 poll system calls per request (strace -c; docs/performance.md, "Serving").
// BufferedServer overrides only httplib's per-connection loop (the virtual
// httplib::Server::process_and_close_socket) and hands httplib's own request parser and router
// (Server::process_request) a stream that
//   - reads up to kReadBufferBytes per recv() into a per-connection buffer and serves httplib's small
//     reads from it, polling only when the socket has nothing to read (a non-blocking recv comes first);
//   - gathers a response (httplib writes the headers and the body separately) into one send when it is
//     at most kWriteGatherBytes, so a keep-alive client gets one segment;
//   - looks up the peer and local addresses once per connection instead of once per request.
// Everything else is httplib's: parsing, routing, handlers, error handler, limits. Kept semantics: the
// keep-alive request count and idle timeout, read and write timeouts per operation, and stop() ending
// idle connections within ~10 ms. TLS listeners use httplib::SSLServer and its own loop unchanged.
#pragma once

#include <httplib.h>

namespace verge::serve {

inline constexpr size_t kReadBufferBytes = size_t{256} << 10;
inline constexpr size_t kWriteGatherBytes = size_t{64} << 10;

class BufferedServer : public httplib::Server {
 private:
  bool process_and_close_socket(socket_t sock) override;
};

}  // namespace verge::serve
