// SortedSetTest.cpp — the kv sorted set's order (score, then member bytes)
// and its index kept in step with it (plugins/kv/SortedSet.cpp).
#include "SortedSet.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace portico::kv {
namespace {

std::vector<std::string> members(const SortedSet &z) {
    std::vector<std::string> out;
    for (const auto &[score, member] : z.ordered())
        out.push_back(member);
    return out;
}

TEST(KvSortedSet, OrdersByScoreThenByMemberBytes) {
    SortedSet z;
    const double inf = std::numeric_limits<double>::infinity();
    EXPECT_TRUE(z.assign("b", 1));
    EXPECT_TRUE(z.assign("a", 1));
    EXPECT_TRUE(z.assign("top", inf));
    EXPECT_TRUE(z.assign("bottom", -inf));
    EXPECT_TRUE(z.assign("B", 1));
    EXPECT_TRUE(z.assign("\xff", 1)); // bytes compare unsigned, as memcmp
    EXPECT_TRUE(z.assign("half", 0.5));
    EXPECT_EQ(members(z), (std::vector<std::string>{"bottom", "half", "B", "a", "b", "\xff", "top"}));
    EXPECT_EQ(z.size(), 7u);
}

TEST(KvSortedSet, ReassigningMovesTheMember) {
    SortedSet z;
    z.assign("a", 1);
    z.assign("b", 2);
    z.assign("c", 3);
    EXPECT_FALSE(z.assign("a", 10)) << "an existing member is not new";
    EXPECT_EQ(members(z), (std::vector<std::string>{"b", "c", "a"}));
    EXPECT_EQ(z.score("a"), 10);
    EXPECT_FALSE(z.assign("b", 2)) << "same score: nothing moves";
    EXPECT_EQ(z.size(), 3u);
    EXPECT_EQ(z.ordered().size(), 3u);
}

TEST(KvSortedSet, EraseAndPopMinKeepBothIndexesInStep) {
    SortedSet z;
    for (int i = 0; i < 5; ++i)
        z.assign("m" + std::to_string(i), 5 - i);
    EXPECT_TRUE(z.erase("m0"));
    EXPECT_FALSE(z.erase("m0"));
    EXPECT_EQ(z.score("m0"), std::nullopt);
    const auto popped = z.pop_min(2);
    ASSERT_EQ(popped.size(), 2u);
    EXPECT_EQ(popped[0], (SortedSet::Item{1, "m4"}));
    EXPECT_EQ(popped[1], (SortedSet::Item{2, "m3"}));
    EXPECT_EQ(z.score("m4"), std::nullopt);
    EXPECT_EQ(members(z), (std::vector<std::string>{"m2", "m1"}));
    EXPECT_EQ(z.pop_min(10).size(), 2u);
    EXPECT_TRUE(z.empty());
    EXPECT_TRUE(z.ordered().empty());
}

} // namespace
} // namespace portico::kv
