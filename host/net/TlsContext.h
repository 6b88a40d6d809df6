// TlsContext.h — one TLS service's certificate, key and client CA, loaded
// into a Poco::Net::Context (an OpenSSL SSL_CTX). Immutable once built: a
// certificate reload builds a new one and swaps it in whole, so a session
// keeps the context it started its handshake with.
#pragma once

#include "config/Config.h"

#include <Poco/Net/Context.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace portico::host {

// A file that cannot be used; what() names it and says why, key() is the
// tls: key that names it ("cert", "key", "ca"; "" for neither).
class TlsError : public std::runtime_error {
public:
    TlsError(std::string key, const std::string &message) : std::runtime_error(message), key_(std::move(key)) {}
    const std::string &key() const { return key_; }

private:
    std::string key_;
};

class TlsContext {
public:
    // Reads cert, key and (if set) ca and builds the server context. Throws
    // TlsError naming the file: unreadable, not PEM, or a key that does not
    // match the certificate.
    static std::shared_ptr<const TlsContext> load(const TlsConfig &config);
    // The files' contents as they are on disk now, hashed: equal to
    // fingerprint() of a context built from the same bytes. Throws TlsError
    // when a file cannot be read.
    static std::string read_fingerprint(const TlsConfig &config);

    SSL_CTX *ssl_ctx() const { return context_->sslContext(); }
    const std::string &fingerprint() const { return fingerprint_; }
    const std::string &subject() const { return subject_; }
    // "2030-01-01 00:00:00 UTC"
    const std::string &expires_text() const { return expires_text_; }
    bool expired() const { return std::chrono::system_clock::now() >= expires_; }
    // The warning logged, at start and on reload alike, when expired(); "" otherwise.
    std::string expiry_warning(const std::string &service, const std::filesystem::path &cert) const;

private:
    TlsContext() = default;

    Poco::Net::Context::Ptr context_;
    std::string fingerprint_;
    std::string subject_;
    std::string expires_text_;
    std::chrono::system_clock::time_point expires_;
};

} // namespace portico::host
