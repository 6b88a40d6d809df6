// GlobTest.cpp — KEYS pattern matching (plugins/kv/Glob.cpp), case by case
// as Redis's stringmatch answers them.
#include "Glob.h"

#include <gtest/gtest.h>

#include <string>

namespace portico::kv {
namespace {

struct Case {
    const char *pattern;
    const char *text;
    bool match;
};

TEST(KvGlob, MatchesLikeRedisStringmatch) {
    const Case cases[] = {
        {"*", "anything", true},
        {"*", "", false}, // KEYS special-cases "*"; the matcher alone does not match ""
        {"", "", true},
        {"", "a", false},
        {"h?llo", "hello", true},
        {"h?llo", "hllo", false},
        {"h*llo", "hllo", true},
        {"h*llo", "heeeello", true},
        {"h*llo", "hello world", false},
        {"h[ae]llo", "hallo", true},
        {"h[ae]llo", "hillo", false},
        {"h[^e]llo", "hallo", true},
        {"h[^e]llo", "hello", false},
        {"h[a-b]llo", "hbllo", true},
        {"h[b-a]llo", "hallo", true}, // a reversed range is swapped
        {"h[a-b]llo", "hcllo", false},
        {"h\\*llo", "h*llo", true},
        {"h\\*llo", "hello", false},
        {"h[\\]]llo", "h]llo", true},
        {"key:*", "key:1", true},
        {"key:*", "key:", true},
        {"key:*", "ke", false},
        {"a*b*c", "aXXbYYc", true},
        {"a*b*c", "aXXbYY", false},
        {"a**", "a", true},
        {"[abc", "a", true}, // unterminated class: ends with the pattern
        {"[abc", "b", true},
        {"ab[", "abc", false}, // an empty unterminated class matches nothing
        {"a\\", "a\\", true},  // a trailing backslash is literal
        {"*a", "bbb", false},
    };
    for (const auto &c : cases)
        EXPECT_EQ(glob_match(c.pattern, c.text), c.match) << c.pattern << " vs " << c.text;
}

TEST(KvGlob, BytesCompareAsBytes) {
    const std::string text("a\0b", 3);
    EXPECT_TRUE(glob_match(std::string("a\0b", 3), text));
    EXPECT_TRUE(glob_match("a?b", text));
    EXPECT_TRUE(glob_match("[\x80-\xff]", "\xc3"));
}

// Redis gives up early instead of backtracking exponentially; so must we.
TEST(KvGlob, ManyStarsDoNotTakeForever) {
    const std::string pattern = std::string(30, 'a') + "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
    const std::string text(200, 'a');
    EXPECT_FALSE(glob_match(pattern, text));
}

} // namespace
} // namespace portico::kv
