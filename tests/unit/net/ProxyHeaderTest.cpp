// ProxyHeaderTest.cpp — the PROXY protocol parser against every form the
// spec allows and every form it rules out, whole and fed byte by byte.
#include "net/ProxyHeader.h"

#include <gtest/gtest.h>

#include <string>

using namespace portico::host;
using Poco::Net::SocketAddress;
using Status = ProxyParse::Status;

namespace {

const std::string v2_signature("\r\n\r\n\0\r\nQUIT\n", 12);

std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (const int v : values)
        out += static_cast<char>(v);
    return out;
}

// A v2 header from its parts; `length` overrides the length field.
std::string v2(int version_command, int family_transport, const std::string &body, int length = -1) {
    const int n = length < 0 ? static_cast<int>(body.size()) : length;
    return v2_signature + bytes({version_command, family_transport, (n >> 8) & 0xFF, n & 0xFF}) + body;
}

std::string tlv(int type, const std::string &value) {
    const auto n = static_cast<int>(value.size());
    return bytes({type, (n >> 8) & 0xFF, n & 0xFF}) + value;
}

const std::string tcp4_block = bytes({192, 0, 2, 1, 198, 51, 100, 7, 0xD4, 0x31, 0x01, 0xBB}); // :54321 -> :443

ProxyParse parse(const std::string &input, ProxyVersions versions = ProxyVersions::any) {
    ProxyOptions options;
    options.versions = versions;
    return parse_proxy_header(input, options);
}

ProxyHeader complete(const std::string &input) {
    const ProxyParse result = parse(input);
    EXPECT_EQ(result.status, Status::complete) << result.error;
    EXPECT_EQ(result.consumed, input.size());
    return result.header;
}

std::string invalid(const std::string &input, ProxyVersions versions = ProxyVersions::any) {
    const ProxyParse result = parse(input, versions);
    EXPECT_EQ(result.status, Status::invalid) << "input: " << input.size() << " bytes";
    EXPECT_FALSE(result.error.empty());
    return result.error;
}

// Every strict prefix must ask for more, never decide.
void expect_prefixes_need_more(const std::string &header) {
    for (std::size_t n = 0; n < header.size(); ++n) {
        const ProxyParse result = parse(header.substr(0, n));
        ASSERT_EQ(result.status, Status::need_more) << "prefix of " << n << " bytes: " << result.error;
        ASSERT_GE(result.need, 1u);
        ASSERT_LE(n + result.need, header.size()) << "asked for more than the header holds at " << n;
    }
}

// --- v1 ---------------------------------------------------------------------

TEST(ProxyHeaderV1, Tcp4) {
    const std::string line = "PROXY TCP4 192.0.2.1 198.51.100.7 54321 443\r\n";
    const ProxyHeader header = complete(line);
    EXPECT_EQ(header.version, 1);
    EXPECT_EQ(header.command, ProxyCommand::proxy);
    EXPECT_EQ(header.family, ProxyFamily::tcp4);
    EXPECT_EQ(header.source->toString(), "192.0.2.1:54321");
    EXPECT_EQ(header.destination->toString(), "198.51.100.7:443");
}

TEST(ProxyHeaderV1, ConsumesOnlyTheHeader) {
    const std::string line = "PROXY TCP4 192.0.2.1 198.51.100.7 54321 443\r\n";
    const ProxyParse result = parse(line + "GET / HTTP/1.1\r\n");
    ASSERT_EQ(result.status, Status::complete);
    EXPECT_EQ(result.consumed, line.size());
}

TEST(ProxyHeaderV1, Tcp6) {
    const ProxyHeader header = complete("PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 0 65535\r\n");
    EXPECT_EQ(header.family, ProxyFamily::tcp6);
    EXPECT_EQ(*header.source, SocketAddress("[2001:db8::1]:0"));
    EXPECT_EQ(header.destination->port(), 65535);
    EXPECT_EQ(header.destination->host().toString(), "::ffff:10.0.0.1");
}

TEST(ProxyHeaderV1, UnknownIgnoresTheRestOfTheLine) {
    for (const std::string line :
         {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", "PROXY UNKNOWN  x\r\n"}) {
        const ProxyHeader header = complete(line);
        EXPECT_EQ(header.family, ProxyFamily::unknown);
        EXPECT_EQ(header.command, ProxyCommand::proxy);
        EXPECT_FALSE(header.source);
    }
}

TEST(ProxyHeaderV1, LongestHeaderFitsIn107Bytes) {
    const std::string longest =
        "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
        "65535 65535\r\n";
    ASSERT_EQ(longest.size(), 104u);
    complete(longest);
    // UNKNOWN with filler up to exactly 107 bytes is still a header.
    complete("PROXY UNKNOWN " + std::string(91, 'x') + "\r\n");
    EXPECT_NE(invalid("PROXY UNKNOWN " + std::string(92, 'x') + "\r\n").find("107"), std::string::npos);
}

TEST(ProxyHeaderV1, NoCrlfWithin107BytesIsInvalid) {
    EXPECT_NE(invalid("PROXY TCP4 " + std::string(200, '1')).find("no CRLF"), std::string::npos);
    // 106 bytes without CRLF may still end in one: wait.
    EXPECT_EQ(parse("PROXY UNKNOWN " + std::string(92, 'x')).status, Status::need_more);
}

TEST(ProxyHeaderV1, BadLineEndings) {
    EXPECT_NE(invalid("PROXY UNKNOWN\n").find("line feed without carriage return"), std::string::npos);
    EXPECT_NE(invalid("PROXY UNKNOWN\rX").find("not followed by line feed"), std::string::npos);
}

TEST(ProxyHeaderV1, ExtraSpacesAreInvalid) {
    for (const std::string line :
         {"PROXY TCP4  192.0.2.1 198.51.100.7 1 2\r\n", "PROXY TCP4 192.0.2.1 198.51.100.7 1 2 \r\n",
          "PROXY  TCP4 192.0.2.1 198.51.100.7 1 2\r\n"})
        invalid(line);
    EXPECT_NE(invalid("PROXY TCP4 192.0.2.1  198.51.100.7 1 2\r\n").find("empty field"), std::string::npos);
}

TEST(ProxyHeaderV1, WrongFieldCountOrProtocol) {
    EXPECT_NE(invalid("PROXY TCP4 192.0.2.1 198.51.100.7 1\r\n").find("got 5 fields"), std::string::npos);
    EXPECT_NE(invalid("PROXY TCP4 192.0.2.1 198.51.100.7 1 2 3\r\n").find("got 7 fields"), std::string::npos);
    EXPECT_NE(invalid("PROXY UDP4 192.0.2.1 198.51.100.7 1 2\r\n").find("'UDP4' is not TCP4"), std::string::npos);
    EXPECT_NE(invalid("PROXY tcp4 192.0.2.1 198.51.100.7 1 2\r\n").find("is not TCP4"), std::string::npos);
    invalid("PROXY \r\n");
    invalid("PROXY\r\n");
}

TEST(ProxyHeaderV1, BadAddresses) {
    for (const std::string address : {"192.0.2", "192.0.2.256", "192.0.2.01", "::1", "example.com", "1.2.3.4/8", "-"}) {
        const std::string error = invalid("PROXY TCP4 " + address + " 198.51.100.7 1 2\r\n");
        EXPECT_NE(error.find("source address"), std::string::npos) << error;
    }
    EXPECT_NE(invalid("PROXY TCP6 ::1 192.0.2.1 1 2\r\n").find("destination address '192.0.2.1' is not an IPv6"),
              std::string::npos);
    invalid("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n");
    invalid(std::string("PROXY TCP4 1.2.3.4\0x 1.2.3.4 1 2\r\n", 34));
}

TEST(ProxyHeaderV1, BadPorts) {
    for (const std::string port : {"65536", "99999", "123456", "-1", "+1", "01", "00", "0x10", "1e3", "８０"}) {
        const std::string error = invalid("PROXY TCP4 192.0.2.1 198.51.100.7 " + port + " 2\r\n");
        EXPECT_NE(error.find("v1: source port"), std::string::npos) << error;
        EXPECT_NE(error.find("port out of range"), std::string::npos) << error;
    }
    EXPECT_NE(invalid("PROXY TCP4 192.0.2.1 198.51.100.7 1 70000\r\n").find("destination port '70000'"),
              std::string::npos);
}

TEST(ProxyHeaderV1, EveryPrefixNeedsMore) {
    expect_prefixes_need_more("PROXY TCP4 192.0.2.1 198.51.100.7 54321 443\r\n");
    expect_prefixes_need_more("PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n");
    expect_prefixes_need_more("PROXY UNKNOWN\r\n");
}

// --- v2 ---------------------------------------------------------------------

TEST(ProxyHeaderV2, ProxyTcp4) {
    const ProxyHeader header = complete(v2(0x21, 0x11, tcp4_block));
    EXPECT_EQ(header.version, 2);
    EXPECT_EQ(header.command, ProxyCommand::proxy);
    EXPECT_EQ(header.family, ProxyFamily::tcp4);
    EXPECT_EQ(header.source->toString(), "192.0.2.1:54321");
    EXPECT_EQ(header.destination->toString(), "198.51.100.7:443");
    EXPECT_TRUE(header.tlvs.empty());
}

TEST(ProxyHeaderV2, ProxyTcp6) {
    std::string block(16, '\0');
    block[0] = '\x20', block[1] = '\x01', block[2] = '\x0d', block[3] = '\xb8', block[15] = '\x01';
    block += std::string(15, '\0') + "\x02";
    block += bytes({0x00, 0x50, 0xFF, 0xFF});
    const ProxyHeader header = complete(v2(0x21, 0x21, block));
    EXPECT_EQ(header.family, ProxyFamily::tcp6);
    EXPECT_EQ(*header.source, SocketAddress("[2001:db8::1]:80"));
    EXPECT_EQ(*header.destination, SocketAddress("[::2]:65535"));
}

TEST(ProxyHeaderV2, ProxyUnix) {
    std::string block = "/run/lb.sock" + std::string(108 - 12, '\0');
    block += std::string(108, 'p'); // no NUL: the path fills the field
    const ProxyHeader header = complete(v2(0x21, 0x31, block));
    EXPECT_EQ(header.family, ProxyFamily::unix_stream);
    EXPECT_EQ(header.source_path, "/run/lb.sock");
    EXPECT_EQ(header.destination_path, std::string(108, 'p'));
    EXPECT_FALSE(header.source);
}

TEST(ProxyHeaderV2, LocalDiscardsTheBlock) {
    // Health checks: whatever the family byte and block say, use the real peer.
    for (const std::string &input : {v2(0x20, 0x00, ""), v2(0x20, 0x11, tcp4_block), v2(0x20, 0xFF, "junk")}) {
        const ProxyHeader header = complete(input);
        EXPECT_EQ(header.command, ProxyCommand::local);
        EXPECT_EQ(header.family, ProxyFamily::unknown);
        EXPECT_FALSE(header.source);
    }
}

TEST(ProxyHeaderV2, UnspecMeansUseTheRealPeer) {
    const ProxyHeader header = complete(v2(0x21, 0x00, "ignored bytes"));
    EXPECT_EQ(header.command, ProxyCommand::proxy);
    EXPECT_EQ(header.family, ProxyFamily::unknown);
    EXPECT_FALSE(header.source);
}

TEST(ProxyHeaderV2, StandardTlvsAreDecoded) {
    const std::string ssl = bytes({0x07, 0, 0, 0, 0}) + tlv(0x21, "TLSv1.3") + tlv(0x22, "client.example") +
                            tlv(0x23, "TLS_AES_128_GCM_SHA256") + tlv(0x24, "RSA-SHA256") + tlv(0x25, "RSA2048") +
                            tlv(0x7F, "unknown sub-TLV");
    const std::string body = tcp4_block + tlv(0x01, "h2") + tlv(0x02, "api.example") + tlv(0x04, "pad") +
                             tlv(0x05, std::string(128, 'u')) + tlv(0x20, ssl) + tlv(0x30, "blue") +
                             tlv(0xE0, "custom");
    const ProxyHeader header = complete(v2(0x21, 0x11, body));
    EXPECT_EQ(header.alpn, "h2");
    EXPECT_EQ(header.authority, "api.example");
    EXPECT_EQ(header.unique_id, std::string(128, 'u'));
    EXPECT_EQ(header.netns, "blue");
    ASSERT_TRUE(header.ssl);
    EXPECT_EQ(header.ssl->client, 0x07);
    EXPECT_EQ(header.ssl->verify, 0u);
    EXPECT_EQ(header.ssl->version, "TLSv1.3");
    EXPECT_EQ(header.ssl->cn, "client.example");
    EXPECT_EQ(header.ssl->cipher, "TLS_AES_128_GCM_SHA256");
    EXPECT_EQ(header.ssl->sig_alg, "RSA-SHA256");
    EXPECT_EQ(header.ssl->key_alg, "RSA2048");
    // NOOP is padding and is dropped; everything else is kept in order.
    ASSERT_EQ(header.tlvs.size(), 6u);
    EXPECT_EQ(header.tlvs[0], (ProxyTlv{0x01, "h2"}));
    EXPECT_EQ(header.tlvs[5], (ProxyTlv{0xE0, "custom"}));
}

TEST(ProxyHeaderV2, Crc32cKnownValue) {
    // RFC 3720 B.4 check value for "123456789".
    EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
    EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
}

TEST(ProxyHeaderV2, Crc32cGoodAndBad) {
    ProxyHeader header;
    header.family = ProxyFamily::tcp4;
    header.source = SocketAddress("192.0.2.1", 1);
    header.destination = SocketAddress("192.0.2.2", 2);
    header.tlvs = {{0x01, "http/1.1"}, {proxy_tlv::crc32c, std::string(4, '\0')}};
    const std::string good = serialize_proxy_v2(header);
    const ProxyHeader parsed = complete(good);
    EXPECT_TRUE(parsed.crc32c_verified);
    EXPECT_EQ(parsed.alpn, "http/1.1");
    for (const std::size_t at : {std::size_t{17}, good.size() - 12, good.size() - 1}) {
        std::string bad = good;
        bad[at] = static_cast<char>(bad[at] ^ 0x01);
        EXPECT_NE(invalid(bad).find("CRC32C checksum mismatch"), std::string::npos) << "flipped byte " << at;
    }
    EXPECT_FALSE(complete(v2(0x21, 0x11, tcp4_block)).crc32c_verified);
    EXPECT_NE(invalid(v2(0x21, 0x11, tcp4_block + tlv(0x03, "abc"))).find("CRC32C TLV of 3 bytes"), std::string::npos);
}

TEST(ProxyHeaderV2, BadSignatureVersionAndCommand) {
    std::string bad_signature = v2(0x21, 0x11, tcp4_block);
    bad_signature[11] = 'X';
    EXPECT_NE(invalid(bad_signature).find("not a PROXY header"), std::string::npos);
    EXPECT_NE(invalid(v2(0x11, 0x11, tcp4_block)).find("version nibble is 1"), std::string::npos);
    EXPECT_NE(invalid(v2(0x31, 0x11, tcp4_block)).find("version nibble is 3"), std::string::npos);
    EXPECT_NE(invalid(v2(0x22, 0x11, tcp4_block)).find("command 2"), std::string::npos);
    EXPECT_NE(invalid(v2(0x2F, 0x11, tcp4_block)).find("command 15"), std::string::npos);
}

TEST(ProxyHeaderV2, FamilyAndTransportCombinations) {
    EXPECT_NE(invalid(v2(0x21, 0x12, tcp4_block)).find("DGRAM"), std::string::npos);
    EXPECT_NE(invalid(v2(0x21, 0x22, std::string(36, '\0'))).find("DGRAM"), std::string::npos);
    EXPECT_NE(invalid(v2(0x21, 0x10, tcp4_block)).find("UNSPEC must be both or neither"), std::string::npos);
    EXPECT_NE(invalid(v2(0x21, 0x01, tcp4_block)).find("UNSPEC must be both or neither"), std::string::npos);
    EXPECT_NE(invalid(v2(0x21, 0x41, tcp4_block)).find("address family 4"), std::string::npos);
    EXPECT_NE(invalid(v2(0x21, 0x13, tcp4_block)).find("transport 3"), std::string::npos);
}

TEST(ProxyHeaderV2, LengthLies) {
    EXPECT_EQ(invalid(v2(0x21, 0x21, tcp4_block)), "v2: address length 12 too short for AF_INET6 (36 bytes)");
    EXPECT_NE(invalid(v2(0x21, 0x11, tcp4_block.substr(0, 11))).find("too short for AF_INET"), std::string::npos);
    EXPECT_NE(invalid(v2(0x21, 0x31, std::string(215, '\0'))).find("too short for AF_UNIX"), std::string::npos);
    // A length longer than what arrived is a truncated header: wait for it.
    const ProxyParse waiting = parse(v2(0x21, 0x11, tcp4_block, 40));
    EXPECT_EQ(waiting.status, Status::need_more);
    EXPECT_EQ(waiting.need, 28u);
}

TEST(ProxyHeaderV2, TlvOverruns) {
    EXPECT_NE(invalid(v2(0x21, 0x11, tcp4_block + bytes({0x01, 0x00}))).find("TLV header at byte 28 runs past"),
              std::string::npos);
    EXPECT_NE(invalid(v2(0x21, 0x11, tcp4_block + bytes({0x01, 0x00, 0x05, 'h', '2'})))
                  .find("TLV length runs past the header"),
              std::string::npos);
    EXPECT_NE(invalid(v2(0x21, 0x11, tcp4_block + tlv(0x20, bytes({1, 0, 0})))).find("SSL TLV of 3 bytes"),
              std::string::npos);
    EXPECT_NE(invalid(v2(0x21, 0x11, tcp4_block + tlv(0x20, bytes({1, 0, 0, 0, 0, 0x21, 0, 9, 'x'}))))
                  .find("SSL sub-TLV length runs past"),
              std::string::npos);
    EXPECT_NE(invalid(v2(0x21, 0x11, tcp4_block + tlv(0x05, std::string(129, 'u')))).find("UNIQUE_ID TLV of 129"),
              std::string::npos);
}

TEST(ProxyHeaderV2, OversizedAgainstTheCap) {
    const std::string big = v2(0x21, 0x11, tcp4_block + tlv(0xE0, std::string(5000, 'x')));
    // Rejected from the 16 fixed bytes alone: nothing more is read.
    EXPECT_NE(invalid(big.substr(0, 16)).find("exceeds the limit of 4096 bytes"), std::string::npos);
    ProxyOptions roomy;
    roomy.max_v2_bytes = 16 + 65535;
    const ProxyParse result = parse_proxy_header(big, roomy);
    ASSERT_EQ(result.status, Status::complete) << result.error;
    EXPECT_EQ(result.header.tlvs.at(0).value.size(), 5000u);
}

TEST(ProxyHeaderV2, EveryPrefixNeedsMore) {
    expect_prefixes_need_more(v2(0x21, 0x11, tcp4_block + tlv(0x01, "h2")));
    expect_prefixes_need_more(v2(0x20, 0x00, ""));
    ProxyHeader header;
    header.family = ProxyFamily::unix_stream;
    header.source_path = "/a";
    header.destination_path = "/b";
    header.tlvs = {{proxy_tlv::crc32c, ""}};
    expect_prefixes_need_more(serialize_proxy_v2(header));
}

// --- both -------------------------------------------------------------------

TEST(ProxyHeader, AcceptedVersionsAreAParameter) {
    const std::string one = "PROXY UNKNOWN\r\n";
    const std::string two = v2(0x20, 0x00, "");
    EXPECT_EQ(parse(one, ProxyVersions::v1).status, Status::complete);
    EXPECT_EQ(parse(two, ProxyVersions::v2).status, Status::complete);
    EXPECT_NE(invalid(one, ProxyVersions::v2).find("only v2 is accepted"), std::string::npos);
    EXPECT_NE(invalid(two, ProxyVersions::v1).find("only v1 is accepted"), std::string::npos);
    // Decided from the first byte that tells them apart.
    EXPECT_EQ(parse("P", ProxyVersions::v2).status, Status::invalid);
    EXPECT_EQ(parse("\r", ProxyVersions::v1).status, Status::invalid);
}

TEST(ProxyHeader, NotAProxyHeader) {
    EXPECT_EQ(invalid("GET / HTTP/1.1\r\n"),
              "not a PROXY header (v1 or v2 expected; the first bytes are 'GET / HTTP/1.1\\x0d\\x0a')");
    invalid("PROXX");
    invalid("\r\n\r\n\x01");
    EXPECT_EQ(parse("").status, Status::need_more);
}

TEST(ProxyHeader, ByteByByteFeedingMatchesWholeParse) {
    ProxyHeader tls;
    tls.family = ProxyFamily::tcp6;
    tls.source = SocketAddress("[2001:db8::7]:40000");
    tls.destination = SocketAddress("[2001:db8::8]:443");
    tls.tlvs = {{proxy_tlv::authority, "example.org"}, {proxy_tlv::crc32c, ""}};
    for (const std::string &header :
         {std::string("PROXY TCP4 10.1.2.3 10.1.2.4 1000 2000\r\n"), serialize_proxy_v2(tls)}) {
        const std::string stream = header + "client bytes";
        std::string buffer;
        ProxyParse result;
        std::size_t fed = 0;
        while (fed < stream.size()) {
            buffer += stream[fed++];
            result = parse(buffer);
            if (result.status != Status::need_more) break;
        }
        ASSERT_EQ(result.status, Status::complete) << result.error;
        EXPECT_EQ(fed, header.size()); // decided exactly when the last header byte came
        EXPECT_EQ(result.consumed, header.size());
    }
}

TEST(ProxyHeader, SerializersRoundTrip) {
    ProxyHeader header;
    header.family = ProxyFamily::tcp4;
    header.source = SocketAddress("203.0.113.9", 65535);
    header.destination = SocketAddress("203.0.113.10", 0);
    EXPECT_EQ(serialize_proxy_v1(header), "PROXY TCP4 203.0.113.9 203.0.113.10 65535 0\r\n");
    for (const std::string &wire : {serialize_proxy_v1(header), serialize_proxy_v2(header)}) {
        const ProxyHeader back = complete(wire);
        EXPECT_EQ(back.family, ProxyFamily::tcp4);
        EXPECT_EQ(*back.source, *header.source);
        EXPECT_EQ(*back.destination, *header.destination);
    }
    // Found by the fuzzer: Poco's toString writes ::0.0.114.114 as "::".
    header.family = ProxyFamily::tcp6;
    header.source = SocketAddress("[::0.0.114.114]:1");
    header.destination = SocketAddress("[2001:db8::1]:2");
    EXPECT_EQ(serialize_proxy_v1(header), "PROXY TCP6 ::7272 2001:db8::1 1 2\r\n");
    EXPECT_EQ(*complete(serialize_proxy_v1(header)).source, *header.source);
    header.command = ProxyCommand::local;
    EXPECT_EQ(serialize_proxy_v1(header), "PROXY UNKNOWN\r\n");
    EXPECT_EQ(serialize_proxy_v2(header), v2(0x20, 0x00, ""));
    header.command = ProxyCommand::proxy;
    header.family = ProxyFamily::unix_stream;
    header.source_path = std::string(109, 'x');
    EXPECT_THROW(serialize_proxy_v2(header), std::invalid_argument);
}

} // namespace
