// DurationTest.cpp — config durations: accepted forms, refusals and printing.
#include "config/Duration.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

using namespace std::chrono_literals;
using portico::host::format_duration;
using portico::host::parse_duration;

TEST(Duration, ParsesEveryUnit) {
    const std::vector<std::pair<std::string, std::chrono::milliseconds>> cases{
        {"0s", 0ms},     {"0ms", 0ms},        {"250ms", 250ms},  {"30s", 30s},     {"5m", 5min},
        {"1h", 1h},      {"1.5s", 1500ms},    {"0.25s", 250ms},  {"1.5m", 90s},    {"2.5h", 150min},
        {"1.001s", 1001ms}, {"24h", 24h},     {"007s", 7s},      {"0.5ms", std::chrono::milliseconds(-1)},
    };
    for (const auto &[text, expected] : cases) {
        std::string error;
        const auto parsed = parse_duration(text, &error);
        if (expected.count() < 0) {
            EXPECT_FALSE(parsed) << text;
            continue;
        }
        ASSERT_TRUE(parsed) << text << ": " << error;
        EXPECT_EQ(*parsed, expected) << text;
    }
}

TEST(Duration, RefusesWithActionableMessages) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"30", "missing unit in '30': add one of ms, s, m, h (write 30s or 30ms)"},
        {"1.5", "missing unit in '1.5': add one of ms, s, m, h (write 1.5s)"},
        {"-5s", "negative duration '-5s': durations must be 0 or more"},
        {"30sec", "unknown unit 'sec' in '30sec': use ms, s, m or h (e.g. 30s, 250ms, 5m, 1h or 1.5s)"},
        {"30 s", "unknown unit ' s' in '30 s': use ms, s, m or h (e.g. 30s, 250ms, 5m, 1h or 1.5s)"},
        {"soon", "expected a duration (e.g. 30s, 250ms, 5m, 1h or 1.5s), got 'soon'"},
        {"", "expected a duration (e.g. 30s, 250ms, 5m, 1h or 1.5s), got an empty value"},
        {".5s", "expected a duration (e.g. 30s, 250ms, 5m, 1h or 1.5s), got '.5s'"},
        {"5.s", "expected a duration (e.g. 30s, 250ms, 5m, 1h or 1.5s), got '5.s'"},
        {"1.0005s", "duration '1.0005s' is not a whole number of milliseconds"},
        {"1.5ms", "duration '1.5ms' is not a whole number of milliseconds"},
        {"99999999999999999999h", "duration '99999999999999999999h' is too large (at most 100 years)"},
        {"1000000h", "duration '1000000h' is too large (at most 100 years)"},
    };
    for (const auto &[text, message] : cases) {
        std::string error;
        EXPECT_FALSE(parse_duration(text, &error)) << text;
        EXPECT_EQ(error, message) << text;
    }
}

TEST(Duration, ErrorPointerMayBeNull) { EXPECT_FALSE(parse_duration("x", nullptr)); }

TEST(Duration, FormatsShortestExactText) {
    EXPECT_EQ(format_duration(0ms), "0s");
    EXPECT_EQ(format_duration(250ms), "250ms");
    EXPECT_EQ(format_duration(30s), "30s");
    EXPECT_EQ(format_duration(5min), "5m");
    EXPECT_EQ(format_duration(1h), "1h");
    EXPECT_EQ(format_duration(1500ms), "1.5s");
    EXPECT_EQ(format_duration(90s), "90s");
    EXPECT_EQ(format_duration(60s), "1m");
    EXPECT_EQ(format_duration(1001ms), "1.001s");
    EXPECT_EQ(format_duration(100ms), "100ms");
    EXPECT_EQ(format_duration(-2s), "-2s");
}

TEST(Duration, FormatRoundTrips) {
    for (const long long ms : {1LL, 7LL, 999LL, 1000LL, 1234LL, 59'999LL, 60'000LL, 90'000LL, 3'599'999LL,
                               3'600'000LL, 5'400'000LL, 86'400'000LL, 123'456'789LL}) {
        const std::chrono::milliseconds d(ms);
        const std::string text = format_duration(d);
        std::string error;
        const auto parsed = parse_duration(text, &error);
        ASSERT_TRUE(parsed) << text << ": " << error;
        EXPECT_EQ(*parsed, d) << text;
    }
}
