// TlsCerts.h — certificates for the TLS tests, made by the `openssl` command
// in a test's own folder: a CA, server certificates signed by it, a signed
// and a self-signed ("unsigned") client certificate, and an expired one.
#pragma once

#include "harness/TempDir.h"

#include <filesystem>
#include <string>
#include <string_view>

namespace portico::test {

struct CertPair {
    std::filesystem::path cert;
    std::filesystem::path key;
};

class TlsCerts {
public:
    // Makes everything in dir/certs (a few EC keys: fast even on a busy machine).
    explicit TlsCerts(const TempDir &dir);

    const std::filesystem::path &folder() const { return folder_; }
    const std::filesystem::path &ca() const { return ca_; }
    const CertPair &server_one() const { return server_one_; } // CN=server-one, 127.0.0.1
    const CertPair &server_two() const { return server_two_; } // CN=server-two, 127.0.0.1
    const CertPair &alice() const { return alice_; }           // client, signed by the CA
    const CertPair &mallory() const { return mallory_; }       // client, self-signed
    const CertPair &expired() const { return expired_; }       // server, expired in 2020

private:
    CertPair signed_by_ca(std::string_view name, std::string_view subject, bool server);

    std::filesystem::path folder_;
    std::filesystem::path ca_, ca_key_;
    CertPair server_one_, server_two_, alice_, mallory_, expired_;
    int serial_ = 1;
};

// The `tls:` map of a service presenting `server`'s certificate, its paths
// relative to the config's folder (the TempDir that holds certs/); `extra`
// adds keys: ", ca: certs/ca.pem, verify_client: required".
inline std::string tls_map(const CertPair &server, const std::string &extra = "") {
    return "{cert: certs/" + server.cert.filename().string() + ", key: certs/" + server.key.filename().string() +
           extra + "}";
}

} // namespace portico::test
