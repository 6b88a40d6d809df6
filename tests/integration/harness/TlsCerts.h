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

// A Python TLS client (python3's ssl module) run to completion: connects to
// 127.0.0.1:port, prints "cn=<server CN>", "version=<TLS version>" and each
// line it reads as "line=<text>"; "error=<reason>" and exit 3 when the
// handshake or a read fails. `args` are passed through:
//   --ca FILE  --cert FILE --key FILE  --send LINE (repeatable)
//   --lines N (lines to read before sending)  --wait-file F (then --send2 LINE)
std::filesystem::path write_tls_client_script(const TempDir &dir);

} // namespace portico::test
