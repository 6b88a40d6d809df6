// SuggestTest.cpp — "did you mean" picks a likely typo and nothing else.
#include "config/Suggest.h"

#include <gtest/gtest.h>

#include <array>

using portico::host::closest_match;
using portico::host::edit_distance;
using portico::host::list_alternatives;

namespace {
constexpr std::array<std::string_view, 5> kKeys{"name", "listen", "handler", "max_connections", "max_queued"};
}

TEST(Suggest, EditDistanceCountsSwapsAsOneEdit) {
    EXPECT_EQ(edit_distance("", ""), 0u);
    EXPECT_EQ(edit_distance("abc", ""), 3u);
    EXPECT_EQ(edit_distance("tpc", "tcp"), 1u);
    EXPECT_EQ(edit_distance("Listen", "listen"), 0u);
    EXPECT_EQ(edit_distance("max_conection", "max_connections"), 2u);
}

TEST(Suggest, SuggestsOnlyCloseCandidates) {
    EXPECT_EQ(closest_match("max_conection", kKeys), "max_connections");
    EXPECT_EQ(closest_match("lisen", kKeys), "listen");
    EXPECT_EQ(closest_match("hander", kKeys), "handler");
    EXPECT_EQ(closest_match("max_queue", kKeys), "max_queued");
    EXPECT_FALSE(closest_match("foo", kKeys));
    EXPECT_FALSE(closest_match("threads", kKeys));
}

TEST(Suggest, ListsAlternativesInProse) {
    constexpr std::array<std::string_view, 1> one{"a"};
    constexpr std::array<std::string_view, 2> two{"tcp", "udp"};
    constexpr std::array<std::string_view, 3> three{"a", "b", "c"};
    EXPECT_EQ(list_alternatives(one), "'a'");
    EXPECT_EQ(list_alternatives(two), "'tcp' or 'udp'");
    EXPECT_EQ(list_alternatives(three), "one of 'a', 'b', 'c'");
}
