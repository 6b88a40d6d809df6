// Transport.h — the byte pipe under a Connection: plain TCP or TLS. The
// Connection keeps the buffering, the deadlines and the waiting (IoWait); a
// transport only moves bytes and says what it is waiting for. Both own nothing of the
// socket: the fd belongs to the accepted Poco socket, and shutdown(2) on it
// (Connection::force_close, from any thread) wakes either kind.
#pragma once

#include "net/TlsContext.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <openssl/ssl.h>

namespace portico::host {

class Transport {
public:
    // recv()/handshake() results besides bytes and end of stream: nothing to
    // return yet; wait until the fd is readable (or writable) and call again.
    static constexpr int64_t want_read = -100;
    static constexpr int64_t want_write = -101;

    virtual ~Transport() = default;

    // Bytes already received and decoded, which a read returns without the
    // fd becoming readable again (TLS: a decrypted record not consumed yet).
    virtual bool pending() const { return false; }
    // >0 bytes, 0 at end of stream, want_read/want_write, or a negative
    // portico_status.
    virtual int64_t recv(void *buf, std::size_t cap) = 0;
    // Sends some of data: >0 bytes taken, want_read/want_write (nothing
    // taken: wait, then call again with the same data), or a negative
    // portico_status.
    virtual int64_t send(const char *data, std::size_t len) = 0;
    // Before the fd is shut down by the handler's own close(): TLS says
    // close_notify. Same thread as the I/O.
    virtual void close_notify() {}

    virtual bool is_tls() const { return false; }
    // The verified client certificate's subject ("CN=alice,O=Example"), or
    // "" when there is none.
    virtual std::string peer_subject() const { return {}; }
};

// recv/send on the accepted socket, blocking (bounded by SO_RCVTIMEO and
// SO_SNDTIMEO: EAGAIN then means the time ran out) or non-blocking.
class PlainTransport final : public Transport {
public:
    explicit PlainTransport(int fd) : fd_(fd) {}
    int64_t recv(void *buf, std::size_t cap) override;
    int64_t send(const char *data, std::size_t len) override;

private:
    int fd_;
};

// OpenSSL on the accepted socket, switched to non-blocking so every wait is
// the Connection's, with its deadlines. The handshake is not done here
// on construction: Connection::handshake() drives it on the session's worker.
class TlsTransport final : public Transport {
public:
    TlsTransport(int fd, std::shared_ptr<const TlsContext> context);
    ~TlsTransport() override;
    TlsTransport(const TlsTransport &) = delete;
    TlsTransport &operator=(const TlsTransport &) = delete;

    // One step of the server handshake: PORTICO_OK when done, want_read /
    // want_write, or PORTICO_ERR_IO with `error` saying why.
    int64_t handshake(std::string &error);

    bool pending() const override;
    int64_t recv(void *buf, std::size_t cap) override;
    int64_t send(const char *data, std::size_t len) override;
    void close_notify() override;
    bool is_tls() const override { return true; }
    std::string peer_subject() const override { return peer_subject_; }

private:
    int64_t map_error(int rc);

    int fd_;
    std::shared_ptr<const TlsContext> context_; // the SSL_CTX outlives ssl_
    SSL *ssl_ = nullptr;
    bool established_ = false;
    bool failed_ = false; // after a fatal error OpenSSL forbids SSL_shutdown
    std::string peer_subject_;
};

} // namespace portico::host
