// TlsContext.cpp — building a server SSL_CTX from the bytes of the cert, key
// and CA files (read once, so what serves is exactly what was hashed), with
// errors that name the file to fix.
#include "net/TlsContext.h"

#include "config/BoundedFile.h"

#include <Poco/DateTimeFormatter.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/X509Certificate.h>
#include <Poco/SHA2Engine.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <mutex>

namespace portico::host {
namespace {

namespace fs = std::filesystem;

void initialize_openssl_once() {
    static std::once_flag once;
    std::call_once(once, [] { Poco::Net::initializeSSL(); });
}

std::string key_of(const char *what) {
    const std::string_view w(what);
    return w == "certificate" ? "cert" : std::string(w);
}

// A certificate chain or CA bundle is kilobytes; the cap keeps a path like
// /dev/zero or a misplaced disk image from being read into memory.
constexpr std::size_t kTlsFileCap = std::size_t{1} << 20;

std::string read_file(const fs::path &path, const char *what) {
    try {
        return read_config_named_file(path, kTlsFileCap, std::string(what) + " file");
    } catch (const BoundedFileError &e) {
        throw TlsError(key_of(what), e.what());
    }
}

// The oldest queued OpenSSL error as text ("" when none); clears the queue.
std::string openssl_error() {
    const unsigned long code = ERR_peek_last_error();
    ERR_clear_error();
    if (code == 0) return {};
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    return std::string(": ") + text;
}

struct BioFree {
    void operator()(BIO *bio) const { BIO_free(bio); }
};
struct X509Free {
    void operator()(X509 *cert) const { X509_free(cert); }
};
struct PkeyFree {
    void operator()(EVP_PKEY *key) const { EVP_PKEY_free(key); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Bio memory_bio(const std::string &bytes) {
    return Bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

// Never prompt on the terminal for a passphrase: an encrypted key is an error.
int no_passphrase(char *, int, int, void *) {
    return -1;
}

struct Files {
    std::string cert, key, ca;
};

Files read_files(const TlsConfig &config) {
    Files files;
    files.cert = read_file(config.cert, "certificate");
    files.key = read_file(config.key, "key");
    if (!config.ca.empty()) files.ca = read_file(config.ca, "ca");
    return files;
}

std::string fingerprint_of(const Files &files) {
    Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
    for (const std::string *part : {&files.cert, &files.key, &files.ca}) {
        const std::string size = std::to_string(part->size()) + ":";
        engine.update(size);
        engine.update(*part);
    }
    return Poco::DigestEngine::digestToHex(engine.digest());
}

// The leaf certificate goes in as the server's; any further PEM blocks are
// its chain, sent to clients after it.
Cert use_certificate_chain(SSL_CTX *ctx, const std::string &pem, const fs::path &file) {
    const Bio bio = memory_bio(pem);
    Cert leaf(PEM_read_bio_X509_AUX(bio.get(), nullptr, no_passphrase, nullptr));
    if (!leaf)
        throw TlsError("cert", "certificate file " + file.string() +
                                   ": no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)" +
                                   openssl_error());
    if (SSL_CTX_use_certificate(ctx, leaf.get()) != 1)
        throw TlsError("cert", "certificate file " + file.string() + ": unusable certificate" + openssl_error());
    while (X509 *extra = PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)) {
        if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
            X509_free(extra);
            throw TlsError("cert",
                           "certificate file " + file.string() + ": unusable chain certificate" + openssl_error());
        }
    }
    ERR_clear_error(); // the loop ends on "no start line"
    return leaf;
}

void use_private_key(SSL_CTX *ctx, X509 *leaf, const std::string &pem, const TlsConfig &config) {
    const Bio bio = memory_bio(pem);
    const Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    if (!key)
        throw TlsError("key", "key file " + config.key.string() +
                                  ": no unencrypted PEM private key in it (expected -----BEGIN PRIVATE KEY-----)" +
                                  openssl_error());
    if (X509_check_private_key(leaf, key.get()) != 1) {
        ERR_clear_error();
        throw TlsError("key", "key file " + config.key.string() + " does not match certificate file " +
                                  config.cert.string() + " (it is the key of another certificate)");
    }
    if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1)
        throw TlsError("key", "key file " + config.key.string() + ": unusable key" + openssl_error());
}

// Trusted for client certificates, and named to clients as acceptable issuers.
void use_client_ca(SSL_CTX *ctx, const std::string &pem, const fs::path &file) {
    const Bio bio = memory_bio(pem);
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    int count = 0;
    while (X509 *raw = PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)) {
        const Cert cert(raw);
        if (X509_STORE_add_cert(store, cert.get()) != 1 || SSL_CTX_add_client_CA(ctx, cert.get()) != 1)
            throw TlsError("ca", "ca file " + file.string() + ": unusable CA certificate" + openssl_error());
        ++count;
    }
    ERR_clear_error();
    if (count == 0)
        throw TlsError("ca", "ca file " + file.string() +
                                 ": no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)");
}

int verify_mode(TlsVerify verify) {
    switch (verify) {
    case TlsVerify::none:
        return SSL_VERIFY_NONE;
    case TlsVerify::optional:
        return SSL_VERIFY_PEER;
    case TlsVerify::required:
        return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
    return SSL_VERIFY_NONE;
}

} // namespace

std::string TlsContext::expiry_warning(const std::string &service, const fs::path &cert) const {
    if (!expired()) return {};
    return "service '" + service + "': certificate " + cert.string() + " (" + subject_ + ") expired on " +
           expires_text_ + "; clients will refuse it";
}

std::string TlsContext::read_fingerprint(const TlsConfig &config) {
    return fingerprint_of(read_files(config));
}

std::shared_ptr<const TlsContext> TlsContext::load(const TlsConfig &config) {
    initialize_openssl_once();
    const Files files = read_files(config);

    // No file names in the params: the files were read above and are loaded
    // from those bytes, so the fingerprint describes exactly what serves.
    Poco::Net::Context::Params params;
    params.verificationMode = Poco::Net::Context::VERIFY_NONE;
    params.loadDefaultCAs = false;
    params.cipherList = "HIGH:!aNULL:!MD5:!RC4";
    std::shared_ptr<TlsContext> tls(new TlsContext);
    try {
        tls->context_ = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params);
        tls->context_->requireMinimumProtocol(config.min_version == "1.3" ? Poco::Net::Context::PROTO_TLSV1_3
                                                                          : Poco::Net::Context::PROTO_TLSV1_2);
    } catch (const Poco::Exception &e) {
        throw TlsError("", "cannot create a TLS context: " + e.displayText());
    }
    SSL_CTX *ctx = tls->context_->sslContext();
    const Cert leaf = use_certificate_chain(ctx, files.cert, config.cert);
    use_private_key(ctx, leaf.get(), files.key, config);
    if (!config.ca.empty()) use_client_ca(ctx, files.ca, config.ca);
    // Poco installs its SSLManager callback; verification here is OpenSSL's
    // own against tls.ca, with no process-wide handler involved.
    SSL_CTX_set_verify(ctx, verify_mode(config.verify_client), nullptr);
    SSL_CTX_set_verify_depth(ctx, 9);
    static const unsigned char session_id[] = "portico";
    SSL_CTX_set_session_id_context(ctx, session_id, sizeof session_id - 1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    // A client that closes TCP without close_notify (most do) ends the stream
    // like EOF on a plain connection instead of failing the handler's read.
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

    const Poco::Net::X509Certificate info(leaf.get(), true);
    tls->subject_ = info.subjectName();
    const Poco::DateTime expires = info.expiresOn();
    tls->expires_ =
        std::chrono::system_clock::time_point(std::chrono::microseconds(expires.timestamp().epochMicroseconds()));
    tls->expires_text_ = Poco::DateTimeFormatter::format(expires, "%Y-%m-%d %H:%M:%S UTC");
    tls->fingerprint_ = fingerprint_of(files);
    return tls;
}

} // namespace portico::host
