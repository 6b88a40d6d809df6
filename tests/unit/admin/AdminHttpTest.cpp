// AdminHttpTest.cpp — the admin server's request-head parser, response
// writer and Host/Origin rules, on byte strings.
#include "admin/AdminHttp.h"
#include "admin/AdminOrigin.h"

#include <gtest/gtest.h>

namespace portico::host {
namespace {

using Kind = HttpParseResult::Kind;

TEST(AdminHttp, ACompleteHeadIsParsedWithLowerCasedHeaderNames) {
    const std::string text = "POST /reload?scope=plugins HTTP/1.1\r\nHost: 127.0.0.1:9900\r\nContent-Length: 3\r\n"
                             "Authorization:  Bearer x \r\n\r\nabc";
    const auto result = parse_http_request_head(text);
    ASSERT_EQ(result.kind, Kind::complete) << result.reason;
    EXPECT_EQ(result.head.method, "POST");
    EXPECT_EQ(result.head.target, "/reload?scope=plugins");
    EXPECT_EQ(result.head.minor_version, 1);
    EXPECT_EQ(result.head.content_length, 3u);
    EXPECT_EQ(result.head.header("host"), "127.0.0.1:9900");
    EXPECT_EQ(result.head.header("authorization"), "Bearer x");
    EXPECT_EQ(result.head_size, text.size() - 3);
}

TEST(AdminHttp, APartialHeadIsIncompleteUntilTheBlankLine) {
    EXPECT_EQ(parse_http_request_head("GET /health HTTP/1.1\r\nHost: a\r\n").kind, Kind::incomplete);
    EXPECT_EQ(parse_http_request_head("GET /hea").kind, Kind::incomplete);
}

TEST(AdminHttp, MalformedOrOversizedHeadsAreRefusedWithTheirStatus) {
    const auto status = [](const std::string &text) { return parse_http_request_head(text).status; };
    EXPECT_EQ(status("GET /health\r\n\r\n"), 400);
    EXPECT_EQ(status("GET health HTTP/1.1\r\n\r\n"), 400);
    EXPECT_EQ(status("GET /health HTTP/2.0\r\n\r\n"), 505);
    EXPECT_EQ(status("GET /health HTTP/1.1\r\nNo colon here\r\n\r\n"), 400);
    EXPECT_EQ(status("GET /health HTTP/1.1\r\nX: a\x01"
                     "b\r\n\r\n"),
              400);
    EXPECT_EQ(status("POST /reload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), 501);
    EXPECT_EQ(status("POST /reload HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), 400);
    EXPECT_EQ(status("POST /reload HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), 400);
    EXPECT_EQ(status("POST /reload HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"), 413);
    EXPECT_EQ(status("GET /health HTTP/1.1\r\nX: " + std::string(kAdminMaxHeadBytes, 'a')), 431);
    // A bad request line is refused before the rest of the head arrives.
    EXPECT_EQ(status("GET /a b HTTP/1.1\r\nHost: x"), 400);
}

TEST(AdminHttp, ResponsesCarryTheReasonPhraseOfTheirStatus) {
    EXPECT_EQ(http_reason_phrase(404), "Not Found");
    EXPECT_EQ(http_reason_phrase(405), "Method Not Allowed");
    EXPECT_EQ(http_reason_phrase(400), "Bad Request");
    const std::string bytes = http_response_bytes(404, {{"Content-Type", "text/plain"}}, "no\n", false);
    EXPECT_EQ(bytes, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
                     "Connection: close\r\n\r\nno\n");
    EXPECT_EQ(http_response_bytes(200, {}, "abc", true),
              "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n");
}

TEST(AdminHttp, PrintableExcerptEscapesControlBytesAndCutsLongText) {
    EXPECT_EQ(printable_excerpt(std::string("/a\0b\r\n%", 7)), "/a%00b%0D%0A%25");
    EXPECT_EQ(printable_excerpt(std::string(300, 'x'), 10), std::string(10, 'x') + "...");
}

TEST(AdminOrigin, HostHeadersNamingThisServerAreAccepted) {
    const std::vector<std::string> names{"portico.internal"};
    for (const std::string ok : {"127.0.0.1:9900", "127.0.0.1", "[::1]:9900", "10.1.2.3:80", "localhost:9900",
                                 "LOCALHOST", "portico.internal:9900", "Portico.Internal"})
        EXPECT_EQ(check_host_header(ok, names), std::nullopt) << ok;
    for (const std::string bad : {"attacker.example:9900", "localhost.attacker.example", "", ":9900", "127.0.0.1:99x",
                                  "[::1", "portico.internal.evil"})
        EXPECT_NE(check_host_header(bad, names), std::nullopt) << bad;
}

TEST(AdminOrigin, OnlyTheServersOwnOriginIsSame) {
    EXPECT_TRUE(origin_is_same("http://127.0.0.1:9900", "127.0.0.1:9900"));
    EXPECT_TRUE(origin_is_same("HTTPS://Localhost:9900", "localhost:9900"));
    EXPECT_FALSE(origin_is_same("http://127.0.0.1:9901", "127.0.0.1:9900"));
    EXPECT_FALSE(origin_is_same("null", "127.0.0.1:9900"));
    EXPECT_FALSE(origin_is_same("http://attacker.example", "127.0.0.1:9900"));
}

} // namespace
} // namespace portico::host
