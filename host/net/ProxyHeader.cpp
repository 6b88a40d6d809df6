// ProxyHeader.cpp — parsing and validating a PROXY protocol v1 or v2 header
// from the first bytes of a connection, strictly after HAProxy's spec.
#include "net/ProxyHeader.h"

#include <Poco/Net/IPAddress.h>

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace portico::host {
namespace {

constexpr std::string_view v1_signature = "PROXY ";
constexpr std::array<char, 12> v2_signature_bytes = {'\r', '\n', '\r', '\n', '\0', '\r',
                                                     '\n', 'Q',  'U',  'I',  'T',  '\n'};
constexpr std::string_view v2_signature(v2_signature_bytes.data(), v2_signature_bytes.size());
constexpr std::size_t v1_max_bytes = 107; // spec 2.1: the worst case, CRLF included
constexpr std::size_t v1_min_bytes = 15;  // "PROXY UNKNOWN\r\n"
constexpr std::size_t v2_fixed_bytes = 16;
constexpr std::size_t unix_path_bytes = 108;
constexpr std::size_t unique_id_max_bytes = 128;

ProxyParse need_more(std::size_t at_least) {
    ProxyParse result;
    result.need = std::max<std::size_t>(at_least, 1);
    return result;
}

ProxyParse invalid(std::string error) {
    ProxyParse result;
    result.status = ProxyParse::Status::invalid;
    result.error = std::move(error);
    return result;
}

ProxyParse complete(std::size_t consumed, ProxyHeader header) {
    ProxyParse result;
    result.status = ProxyParse::Status::complete;
    result.consumed = consumed;
    result.header = std::move(header);
    return result;
}

// The input could still be (or already is) a header with this signature.
bool agrees(std::string_view input, std::string_view signature) {
    const std::size_t n = std::min(input.size(), signature.size());
    return input.substr(0, n) == signature.substr(0, n);
}

uint16_t read_u16(std::string_view bytes, std::size_t at) {
    return static_cast<uint16_t>((static_cast<uint8_t>(bytes[at]) << 8) | static_cast<uint8_t>(bytes[at + 1]));
}

uint32_t read_u32(std::string_view bytes, std::size_t at) {
    return (uint32_t{read_u16(bytes, at)} << 16) | read_u16(bytes, at + 2);
}

std::string quoted(std::string_view text) {
    std::string out = "'";
    for (const char c : text.substr(0, 48)) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7F) {
            out += c;
        } else {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[u >> 4];
            out += hex[u & 0xF];
        }
    }
    return out + (text.size() > 48 ? "...'" : "'");
}

// ---- v1 -------------------------------------------------------------------

std::optional<uint16_t> parse_v1_port(std::string_view text) {
    // Decimal without sign or leading zeros: what every sender prints, and
    // one spelling per port keeps the grammar unambiguous.
    if (text.empty() || text.size() > 5) return std::nullopt;
    if (text.size() > 1 && text[0] == '0') return std::nullopt;
    uint32_t value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<uint32_t>(c - '0');
    }
    if (value > 65535) return std::nullopt;
    return static_cast<uint16_t>(value);
}

std::optional<Poco::Net::IPAddress> parse_v1_address(std::string_view text, bool v6) {
    // inet_pton is strict (no leading zeros in IPv4, no scope ids); Poco's
    // parser would also accept "fe80::1%eth0".
    if (text.size() > 45 || text.find('\0') != std::string_view::npos) return std::nullopt;
    const std::string nul_terminated(text);
    std::array<unsigned char, 16> raw{};
    if (inet_pton(v6 ? AF_INET6 : AF_INET, nul_terminated.c_str(), raw.data()) != 1) return std::nullopt;
    return Poco::Net::IPAddress(raw.data(), v6 ? 16 : 4);
}

ProxyParse parse_v1_line(std::string_view line, std::size_t consumed) {
    std::vector<std::string_view> fields;
    for (std::size_t start = 0;;) {
        const std::size_t space = line.find(' ', start);
        fields.push_back(line.substr(start, space == std::string_view::npos ? space : space - start));
        if (space == std::string_view::npos) break;
        start = space + 1;
    }
    ProxyHeader header;
    header.version = 1;
    if (fields.size() >= 2 && fields[1] == "UNKNOWN") {
        // Spec 2.1: the receiver ignores whatever follows UNKNOWN up to CRLF.
        return complete(consumed, std::move(header));
    }
    for (const std::string_view field : fields)
        if (field.empty()) return invalid("v1: empty field (two spaces in a row, or a space before CRLF)");
    const bool tcp4 = fields.size() >= 2 && fields[1] == "TCP4";
    const bool tcp6 = fields.size() >= 2 && fields[1] == "TCP6";
    if (!tcp4 && !tcp6)
        return invalid("v1: protocol " + quoted(fields.size() >= 2 ? fields[1] : "") + " is not TCP4, TCP6 or UNKNOWN");
    if (fields.size() != 6)
        return invalid("v1: expected 'PROXY " + std::string(fields[1]) +
                       " <source> <destination> <source port> <destination port>', got " +
                       std::to_string(fields.size()) + " fields");
    const auto source = parse_v1_address(fields[2], tcp6);
    if (!source)
        return invalid("v1: source address " + quoted(fields[2]) + " is not an " + (tcp6 ? "IPv6" : "IPv4") +
                       " address as " + std::string(fields[1]) + " requires");
    const auto destination = parse_v1_address(fields[3], tcp6);
    if (!destination)
        return invalid("v1: destination address " + quoted(fields[3]) + " is not an " + (tcp6 ? "IPv6" : "IPv4") +
                       " address as " + std::string(fields[1]) + " requires");
    const auto source_port = parse_v1_port(fields[4]);
    if (!source_port)
        return invalid("v1: source port " + quoted(fields[4]) +
                       " is not a decimal number 0-65535 without leading zeros (port out of range)");
    const auto destination_port = parse_v1_port(fields[5]);
    if (!destination_port)
        return invalid("v1: destination port " + quoted(fields[5]) +
                       " is not a decimal number 0-65535 without leading zeros (port out of range)");
    header.family = tcp6 ? ProxyFamily::tcp6 : ProxyFamily::tcp4;
    header.source = Poco::Net::SocketAddress(*source, *source_port);
    header.destination = Poco::Net::SocketAddress(*destination, *destination_port);
    return complete(consumed, std::move(header));
}

ProxyParse parse_v1(std::string_view input) {
    const std::size_t window = std::min(input.size(), v1_max_bytes);
    for (std::size_t i = 0; i < window; ++i) {
        const char c = input[i];
        if (c == '\n') return invalid("v1: line feed without carriage return at byte " + std::to_string(i));
        if (c != '\r') continue;
        if (i + 1 >= v1_max_bytes) break; // its LF would be past the limit
        if (i + 1 == input.size()) break; // the LF may still come
        if (input[i + 1] != '\n')
            return invalid("v1: carriage return not followed by line feed at byte " + std::to_string(i));
        return parse_v1_line(input.substr(0, i), i + 2);
    }
    if (input.size() >= v1_max_bytes)
        return invalid("v1: no CRLF within the first " + std::to_string(v1_max_bytes) + " bytes (the spec's maximum)");
    return need_more(input.size() < v1_min_bytes ? v1_min_bytes - input.size() : 1);
}

// ---- v2 -------------------------------------------------------------------

std::string path_of(std::string_view field) {
    return std::string(field.substr(0, field.find('\0')));
}

std::optional<std::string> parse_ssl(std::string_view value, ProxySsl &ssl) {
    if (value.size() < 5)
        return "v2: SSL TLV of " + std::to_string(value.size()) +
               " bytes is shorter than its 5-byte client/verify part";
    ssl.client = static_cast<uint8_t>(value[0]);
    ssl.verify = read_u32(value, 1);
    for (std::size_t at = 5; at < value.size();) {
        if (value.size() - at < 3) return std::string("v2: SSL sub-TLV header runs past the SSL TLV");
        const auto type = static_cast<uint8_t>(value[at]);
        const std::size_t length = read_u16(value, at + 1);
        if (value.size() - at - 3 < length) return std::string("v2: SSL sub-TLV length runs past the SSL TLV");
        std::string sub(value.substr(at + 3, length));
        switch (type) {
        case proxy_tlv::ssl_version:
            ssl.version = std::move(sub);
            break;
        case proxy_tlv::ssl_cn:
            ssl.cn = std::move(sub);
            break;
        case proxy_tlv::ssl_cipher:
            ssl.cipher = std::move(sub);
            break;
        case proxy_tlv::ssl_sig_alg:
            ssl.sig_alg = std::move(sub);
            break;
        case proxy_tlv::ssl_key_alg:
            ssl.key_alg = std::move(sub);
            break;
        default:
            break; // unknown sub-TLVs are skipped, as the spec asks
        }
        at += 3 + length;
    }
    return std::nullopt;
}

// TLVs from offset `at` to the end of the header.
std::optional<std::string> parse_tlvs(std::string_view whole, std::size_t at, ProxyHeader &header) {
    bool seen_crc = false;
    while (at < whole.size()) {
        if (whole.size() - at < 3)
            return "v2: TLV header at byte " + std::to_string(at) + " runs past the header (" +
                   std::to_string(whole.size() - at) + " bytes left)";
        const auto type = static_cast<uint8_t>(whole[at]);
        const std::size_t length = read_u16(whole, at + 1);
        if (whole.size() - at - 3 < length)
            return "v2: TLV length runs past the header (type " + std::to_string(type) + " at byte " +
                   std::to_string(at) + " says " + std::to_string(length) + " bytes, " +
                   std::to_string(whole.size() - at - 3) + " left)";
        const std::string_view value = whole.substr(at + 3, length);
        switch (type) {
        case proxy_tlv::noop:
            break;
        case proxy_tlv::alpn:
            header.alpn = std::string(value);
            break;
        case proxy_tlv::authority:
            header.authority = std::string(value);
            break;
        case proxy_tlv::netns:
            header.netns = std::string(value);
            break;
        case proxy_tlv::unique_id:
            if (length > unique_id_max_bytes)
                return "v2: UNIQUE_ID TLV of " + std::to_string(length) + " bytes exceeds the spec's 128";
            header.unique_id = std::string(value);
            break;
        case proxy_tlv::ssl: {
            ProxySsl ssl;
            if (auto error = parse_ssl(value, ssl)) return error;
            header.ssl = std::move(ssl);
            break;
        }
        case proxy_tlv::crc32c: {
            if (length != 4) return "v2: CRC32C TLV of " + std::to_string(length) + " bytes, not 4";
            if (seen_crc) return std::string("v2: more than one CRC32C TLV");
            seen_crc = true;
            // The sender computed it over the whole header with this field zeroed.
            std::string zeroed(whole);
            std::fill_n(zeroed.begin() + static_cast<std::ptrdiff_t>(at + 3), 4, '\0');
            const uint32_t expected = read_u32(value, 0);
            const uint32_t actual = crc32c(zeroed);
            if (expected != actual) return std::string("v2: CRC32C checksum mismatch (header corrupted in transit?)");
            header.crc32c_verified = true;
            break;
        }
        default:
            break;
        }
        if (type != proxy_tlv::noop) header.tlvs.push_back({type, std::string(value)});
        at += 3 + length;
    }
    return std::nullopt;
}

ProxyParse parse_v2(std::string_view input, const ProxyOptions &options) {
    if (input.size() < v2_fixed_bytes) return need_more(v2_fixed_bytes - input.size());
    const auto version_command = static_cast<uint8_t>(input[12]);
    if ((version_command >> 4) != 2)
        return invalid("v2: version nibble is " + std::to_string(version_command >> 4) + ", not 2");
    const unsigned command = version_command & 0xF;
    if (command > 1) return invalid("v2: command " + std::to_string(command) + " is neither LOCAL (0) nor PROXY (1)");
    const std::size_t length = v2_fixed_bytes + read_u16(input, 14);
    if (length > options.max_v2_bytes)
        return invalid("v2: header of " + std::to_string(length) + " bytes exceeds the limit of " +
                       std::to_string(options.max_v2_bytes) + " bytes");
    if (input.size() < length) return need_more(length - input.size());
    const std::string_view whole = input.substr(0, length);

    ProxyHeader header;
    header.version = 2;
    if (command == 0) {
        // LOCAL (spec 2.2): the proxy's own connection, health checks; the
        // receiver discards the protocol block, family included.
        header.command = ProxyCommand::local;
        return complete(length, std::move(header));
    }
    const auto family_transport = static_cast<uint8_t>(input[13]);
    const unsigned family = family_transport >> 4;
    const unsigned transport = family_transport & 0xF;
    if (family > 3) return invalid("v2: address family " + std::to_string(family) + " is not one the spec defines");
    if (transport > 2) return invalid("v2: transport " + std::to_string(transport) + " is not one the spec defines");
    if (family_transport == 0x00) return complete(length, std::move(header)); // AF_UNSPEC: use the real peer
    if (family == 0 || transport == 0)
        return invalid("v2: address family " + std::to_string(family) + " with transport " + std::to_string(transport) +
                       ": UNSPEC must be both or neither");
    if (transport == 2) return invalid("v2: DGRAM (UDP) header on a stream connection");

    static constexpr std::array<std::size_t, 4> address_bytes = {0, 12, 36, 2 * unix_path_bytes};
    static constexpr std::array<const char *, 4> family_names = {"AF_UNSPEC", "AF_INET", "AF_INET6", "AF_UNIX"};
    const std::size_t need = address_bytes[family];
    if (length - v2_fixed_bytes < need)
        return invalid("v2: address length " + std::to_string(length - v2_fixed_bytes) + " too short for " +
                       family_names[family] + " (" + std::to_string(need) + " bytes)");
    const std::string_view block = whole.substr(v2_fixed_bytes, need);
    if (family == 3) {
        header.family = ProxyFamily::unix_stream;
        header.source_path = path_of(block.substr(0, unix_path_bytes));
        header.destination_path = path_of(block.substr(unix_path_bytes));
    } else {
        const std::size_t size = family == 1 ? 4 : 16;
        header.family = family == 1 ? ProxyFamily::tcp4 : ProxyFamily::tcp6;
        const Poco::Net::IPAddress source(block.data(), static_cast<poco_socklen_t>(size));
        const Poco::Net::IPAddress destination(block.data() + size, static_cast<poco_socklen_t>(size));
        header.source = Poco::Net::SocketAddress(source, read_u16(block, 2 * size));
        header.destination = Poco::Net::SocketAddress(destination, read_u16(block, 2 * size + 2));
    }
    if (auto error = parse_tlvs(whole, v2_fixed_bytes + need, header)) return invalid(std::move(*error));
    return complete(length, std::move(header));
}

} // namespace

ProxyParse parse_proxy_header(std::string_view input, const ProxyOptions &options) {
    const bool v1 = options.versions != ProxyVersions::v2;
    const bool v2 = options.versions != ProxyVersions::v1;
    const bool maybe_v1 = agrees(input, v1_signature);
    const bool maybe_v2 = agrees(input, v2_signature);
    if (maybe_v1 && maybe_v2) return need_more(1); // only the empty input agrees with both
    if (maybe_v1 && !v1) return invalid("PROXY v1 header, but only v2 is accepted here");
    if (maybe_v2 && !v2) return invalid("PROXY v2 header, but only v1 is accepted here");
    if (maybe_v1) return input.size() < v1_signature.size() ? need_more(v1_min_bytes - input.size()) : parse_v1(input);
    if (maybe_v2) return parse_v2(input, options);
    return invalid(std::string("not a PROXY header (") +
                   (v1 && v2 ? "v1 or v2"
                    : v1     ? "v1"
                             : "v2") +
                   " expected; the first bytes are " + quoted(input.substr(0, 16)) + ")");
}

} // namespace portico::host
