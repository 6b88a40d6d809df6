// Transport.cpp — plain and TLS byte pipes for Connection (see Transport.h).
#include "net/Transport.h"

#include "portico/portico.h"

#include <Poco/Net/X509Certificate.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include <fcntl.h>
#include <sys/socket.h>

namespace portico::host {
namespace {

int64_t errno_status() {
    return errno == ECONNRESET || errno == EPIPE ? PORTICO_ERR_CLOSED : PORTICO_ERR_IO;
}

int clamp_int(std::size_t n) {
    return static_cast<int>(std::min<std::size_t>(n, INT_MAX));
}

} // namespace

// ---- plain ---------------------------------------------------------------------

int64_t PlainTransport::recv(void *buf, std::size_t cap) {
    for (;;) {
        const ssize_t n = ::recv(fd_, buf, cap, 0);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return want_read;
        return errno_status();
    }
}

int64_t PlainTransport::send(const char *data, std::size_t len) {
    for (;;) {
        const ssize_t n = ::send(fd_, data, len, MSG_NOSIGNAL);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return want_write;
        return errno_status();
    }
}

// ---- TLS -----------------------------------------------------------------------

TlsTransport::TlsTransport(int fd, std::shared_ptr<const TlsContext> context)
    : fd_(fd), context_(std::move(context)), ssl_(SSL_new(context_->ssl_ctx())) {
    // Every wait is the Connection's (IoWait); OpenSSL must never block in recv.
    const int flags = ::fcntl(fd_, F_GETFL);
    if (flags >= 0) ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
    if (ssl_ == nullptr) return;
    SSL_set_fd(ssl_, fd_);
    SSL_set_accept_state(ssl_);
}

TlsTransport::~TlsTransport() {
    close_notify();
    if (ssl_ != nullptr) SSL_free(ssl_);
    ERR_clear_error();
}

int64_t TlsTransport::handshake(std::string &error) {
    if (ssl_ == nullptr) {
        error = "cannot create a TLS session";
        return PORTICO_ERR_IO;
    }
    ERR_clear_error();
    const int rc = SSL_do_handshake(ssl_);
    if (rc == 1) {
        established_ = true;
        // With verify_client optional a client may send no certificate; one
        // it sent has been verified against tls.ca, or the handshake failed.
        if (X509 *peer = SSL_get1_peer_certificate(ssl_)) {
            if (SSL_get_verify_result(ssl_) == X509_V_OK)
                peer_subject_ = Poco::Net::X509Certificate(peer).subjectName(); // takes the reference
            else
                X509_free(peer);
        }
        return PORTICO_OK;
    }
    const int ssl_error = SSL_get_error(ssl_, rc);
    if (ssl_error == SSL_ERROR_WANT_READ) return want_read;
    if (ssl_error == SSL_ERROR_WANT_WRITE) return want_write;
    failed_ = true;
    const unsigned long code = ERR_peek_last_error();
    if (code != 0) {
        const char *reason = ERR_reason_error_string(code);
        error = reason ? reason : "TLS error";
        if (const long verify = SSL_get_verify_result(ssl_); verify != X509_V_OK)
            error += std::string(" (client certificate: ") + X509_verify_cert_error_string(verify) + ")";
    } else {
        error = rc == 0 || errno == 0 ? "the peer closed the connection during the handshake"
                                      : std::string("socket error during the handshake: ") + std::strerror(errno);
    }
    ERR_clear_error();
    return PORTICO_ERR_IO;
}

bool TlsTransport::pending() const {
    // Decrypted bytes only: counting raw, unprocessed bytes too would spin
    // when they are an incomplete record (the read says "want read").
    return ssl_ != nullptr && established_ && SSL_pending(ssl_) > 0;
}

int64_t TlsTransport::map_error(int rc) {
    const int ssl_error = SSL_get_error(ssl_, rc);
    const int saved_errno = errno;
    ERR_clear_error();
    switch (ssl_error) {
    case SSL_ERROR_WANT_READ:
        return want_read;
    case SSL_ERROR_WANT_WRITE:
        return want_write;
    case SSL_ERROR_ZERO_RETURN:
        return 0; // close_notify: end of stream
    case SSL_ERROR_SYSCALL:
        failed_ = true;
        if (rc == 0 || saved_errno == 0) return 0; // EOF without close_notify
        errno = saved_errno;
        return errno_status();
    default:
        failed_ = true;
        return PORTICO_ERR_IO;
    }
}

int64_t TlsTransport::recv(void *buf, std::size_t cap) {
    if (!established_) return PORTICO_ERR_IO;
    ERR_clear_error();
    const int n = SSL_read(ssl_, buf, clamp_int(cap));
    if (n > 0) return n;
    return map_error(n);
}

int64_t TlsTransport::send(const char *data, std::size_t len) {
    if (!established_) return PORTICO_ERR_IO;
    ERR_clear_error();
    // Without SSL_MODE_ENABLE_PARTIAL_WRITE a record goes whole or not at
    // all; after want_read/want_write the caller retries with the same data.
    const int n = SSL_write(ssl_, data, clamp_int(len));
    if (n > 0) return n;
    const int64_t r = map_error(n);
    return r == 0 ? int64_t{PORTICO_ERR_CLOSED} : r;
}

void TlsTransport::close_notify() {
    if (ssl_ == nullptr || !established_ || failed_) return;
    failed_ = true; // once: later calls (and the destructor) do nothing
    ERR_clear_error();
    SSL_shutdown(ssl_); // non-blocking: sends close_notify if the socket takes it
    ERR_clear_error();
}

} // namespace portico::host
