// RespTest.cpp — the kv plugin's RESP2 parser and encoders (plugins/kv/Resp.cpp).
#include "Resp.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portico::kv::resp {
namespace {

std::vector<std::string> strings(const Command &c) { return {c.args.begin(), c.args.end()}; }

Command parse(std::string_view input, const Limits &limits = {}) {
    Command c;
    parse_command(input, c, limits);
    return c;
}

TEST(Resp, ParsesAnArrayOfBulkStrings) {
    static const char raw[] = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\0ue\r\n";
    const std::string with_nul(raw, sizeof raw - 1);
    const Command c = parse(with_nul);
    ASSERT_EQ(c.status, ParseStatus::complete) << c.error;
    EXPECT_EQ(c.consumed, with_nul.size());
    EXPECT_EQ(strings(c), (std::vector<std::string>{"SET", "key", std::string("va\0ue", 5)}));
}

TEST(Resp, EveryPrefixOfACommandIsIncomplete) {
    const std::string input = "*2\r\n$4\r\nECHO\r\n$11\r\nhello world\r\n";
    for (std::size_t n = 0; n < input.size(); ++n) {
        const Command c = parse(std::string_view(input).substr(0, n));
        EXPECT_EQ(c.status, ParseStatus::incomplete) << "prefix of " << n << " bytes";
        EXPECT_TRUE(c.args.empty());
    }
    EXPECT_EQ(parse(input).status, ParseStatus::complete);
}

TEST(Resp, PipelinedCommandsAreParsedOneAtATime) {
    const std::string input = "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n";
    std::string_view rest = input;
    std::vector<std::vector<std::string>> seen;
    Command c;
    for (parse_command(rest, c); c.status == ParseStatus::complete; parse_command(rest, c)) {
        seen.push_back(strings(c));
        rest.remove_prefix(c.consumed);
    }
    EXPECT_EQ(c.status, ParseStatus::incomplete);
    EXPECT_TRUE(rest.empty());
    EXPECT_EQ(seen, (std::vector<std::vector<std::string>>{{"PING"}, {"GET", "k"}, {"PING"}}));
}

TEST(Resp, InlineCommandsSplitOnSpaces) {
    const Command c = parse("  set  key\tvalue \r\nrest");
    ASSERT_EQ(c.status, ParseStatus::complete);
    EXPECT_EQ(strings(c), (std::vector<std::string>{"set", "key", "value"}));
    EXPECT_EQ(c.consumed, std::string("  set  key\tvalue \r\n").size());
    EXPECT_EQ(parse("PING").status, ParseStatus::incomplete);
}

TEST(Resp, EmptyCommandsAreCompleteWithoutArgs) {
    for (const char *input : {"\r\n", "\n", "*0\r\n", "*-1\r\n"}) {
        const Command c = parse(input);
        EXPECT_EQ(c.status, ParseStatus::complete) << input;
        EXPECT_TRUE(c.args.empty()) << input;
        EXPECT_EQ(c.consumed, std::string(input).size()) << input;
    }
}

TEST(Resp, MalformedInputIsAnErrorWithAReason) {
    const struct {
        const char *input;
        const char *error;
    } cases[] = {
        {"*x\r\n", "invalid multibulk length"},
        {"*1\r\n:5\r\n", "expected '$', got ':'"},
        {"*1\r\n\x01", "expected '$', got '\\x01'"},
        {"*1\r\n$-1\r\n", "invalid bulk length"},
        {"*1\r\n$abc\r\n", "invalid bulk length"},
        {"*1\r\n$3\r\nabcXY", "bulk string not terminated by CRLF"},
        {"*1\r\n$ 3\r\nabc\r\n", "invalid bulk length"},
    };
    for (const auto &[input, error] : cases) {
        const Command c = parse(input);
        EXPECT_EQ(c.status, ParseStatus::error) << input;
        EXPECT_EQ(c.error, error) << input;
        EXPECT_TRUE(c.args.empty());
    }
}

TEST(Resp, LimitsBoundWhatACommandMayClaim) {
    Limits limits;
    limits.max_args = 2;
    limits.max_bulk = 4;
    limits.max_inline = 8;
    EXPECT_EQ(parse("*3\r\n", limits).status, ParseStatus::error);
    EXPECT_EQ(parse("*1\r\n$5\r\n", limits).status, ParseStatus::error);
    EXPECT_EQ(parse("*1\r\n$4\r\nabcd\r\n", limits).status, ParseStatus::complete);
    EXPECT_EQ(parse("aaaaaaaaa", limits).status, ParseStatus::error) << "inline line over the limit";
    EXPECT_EQ(parse("a b c\n", limits).status, ParseStatus::error) << "too many inline args";
    EXPECT_EQ(parse("*999999999999999999999\r\n").status, ParseStatus::error);
    EXPECT_EQ(parse("*" + std::string(70000, '1')).status, ParseStatus::error) << "endless header line";
}

TEST(Resp, ParseInt64IsStrict) {
    EXPECT_EQ(parse_int64("0"), 0);
    EXPECT_EQ(parse_int64("-42"), -42);
    EXPECT_EQ(parse_int64("9223372036854775807"), INT64_MAX);
    EXPECT_EQ(parse_int64("-9223372036854775808"), INT64_MIN);
    for (const char *bad : {"", "-", "+1", " 1", "1 ", "01", "-0", "9223372036854775808", "1.5", "0x10"})
        EXPECT_EQ(parse_int64(bad), std::nullopt) << bad;
}

TEST(Resp, EncodersWriteResp2) {
    std::string out;
    append_simple(out, "OK");
    append_error(out, "ERR bad\r\nthing");
    append_integer(out, -7);
    append_bulk(out, std::string("a\0b", 3));
    append_null(out);
    append_array(out, 2);
    static const char expected[] = "+OK\r\n-ERR bad  thing\r\n:-7\r\n$3\r\na\0b\r\n$-1\r\n*2\r\n";
    EXPECT_EQ(out, std::string(expected, sizeof expected - 1));
}

} // namespace
} // namespace portico::kv::resp
