// ProxyHeader.h — the PROXY protocol header (HAProxy's spec, v1 text and v2
// binary) that a load balancer sends before the client's bytes: an
// incremental parser that validates it, and serializers for tests and clients.
#pragma once

#include <Poco/Net/SocketAddress.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::host {

enum class ProxyVersions { v1, v2, any };

struct ProxyOptions {
    ProxyVersions versions = ProxyVersions::any;
    // The spec allows 16 + 65535 bytes for v2; a TCP service has no use for
    // more than a few TLVs, and every byte waits in memory before admission.
    std::size_t max_v2_bytes = 4096;
};

enum class ProxyCommand { local, proxy };

// unknown: v1 "PROXY UNKNOWN", v2 AF_UNSPEC, or any v2 LOCAL header: the
// caller uses the real peer and local addresses.
enum class ProxyFamily { unknown, tcp4, tcp6, unix_stream };

// Standard v2 TLV types (spec section 2.2).
namespace proxy_tlv {
inline constexpr uint8_t alpn = 0x01;
inline constexpr uint8_t authority = 0x02;
inline constexpr uint8_t crc32c = 0x03;
inline constexpr uint8_t noop = 0x04;
inline constexpr uint8_t unique_id = 0x05;
inline constexpr uint8_t ssl = 0x20;
inline constexpr uint8_t ssl_version = 0x21;
inline constexpr uint8_t ssl_cn = 0x22;
inline constexpr uint8_t ssl_cipher = 0x23;
inline constexpr uint8_t ssl_sig_alg = 0x24;
inline constexpr uint8_t ssl_key_alg = 0x25;
inline constexpr uint8_t netns = 0x30;
} // namespace proxy_tlv

// Values are copies: the header outlives the receive buffer it came from.
struct ProxyTlv {
    uint8_t type = 0;
    std::string value;
    bool operator==(const ProxyTlv &) const = default;
};

struct ProxySsl {
    uint8_t client = 0;  // PP2_CLIENT_SSL / CERT_CONN / CERT_SESS bits
    uint32_t verify = 0; // 0 when the client presented a certificate that verified
    std::optional<std::string> version, cn, cipher, sig_alg, key_alg;
};

struct ProxyHeader {
    int version = 0; // 1 or 2
    ProxyCommand command = ProxyCommand::proxy;
    ProxyFamily family = ProxyFamily::unknown;
    // Set for tcp4 / tcp6 only.
    std::optional<Poco::Net::SocketAddress> source, destination;
    // Set for unix_stream only: the paths up to their first NUL.
    std::string source_path, destination_path;
    // Every v2 TLV in order, except NOOP (padding by definition).
    std::vector<ProxyTlv> tlvs;
    std::optional<std::string> alpn, authority, unique_id, netns;
    std::optional<ProxySsl> ssl;
    bool crc32c_verified = false; // a CRC32C TLV was present and matched
};

struct ProxyParse {
    enum class Status { need_more, complete, invalid };
    Status status = Status::need_more;
    std::size_t need = 0;     // need_more: at least this many more bytes
    std::size_t consumed = 0; // complete: the header's length; the client's bytes follow
    ProxyHeader header;       // complete only
    std::string error;        // invalid only: what is wrong, for the log
};

// Parses the start of a connection's bytes. Call again with more bytes while
// it says need_more; the caller bounds the wait with its own timeout.
ProxyParse parse_proxy_header(std::string_view input, const ProxyOptions &options = {});

// v1 writes TCP4/TCP6 with addresses, anything else as "PROXY UNKNOWN".
std::string serialize_proxy_v1(const ProxyHeader &header);
// v2 writes header.tlvs in order; a CRC32C TLV among them gets the checksum
// of the finished header. Throws std::invalid_argument when a field does not
// fit (a path over 108 bytes, a TLV over 65535 bytes).
std::string serialize_proxy_v2(const ProxyHeader &header);

// CRC32c (Castagnoli, RFC 4960 appendix B), as the CRC32C TLV carries it.
uint32_t crc32c(std::string_view bytes);

} // namespace portico::host
