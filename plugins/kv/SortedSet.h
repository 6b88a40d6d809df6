// SortedSet.h — the kv plugin's sorted set: members with double scores,
// ordered by score, then by member bytes, as Redis orders a zset.
#pragma once

#include "StringMap.h"

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::kv {

class SortedSet {
public:
    using Item = std::pair<double, std::string>; // score, member

    struct Order {
        // Equal scores fall back to a byte-wise member compare (memcmp, as
        // Redis's sdscmp), so the order is total and the same as Redis's.
        bool operator()(const Item &a, const Item &b) const {
            if (a.first != b.first) return a.first < b.first;
            return a.second < b.second;
        }
    };
    using Ordered = std::set<Item, Order>;

    std::optional<double> score(std::string_view member) const;
    // Gives `member` the score; true when the member is new.
    bool assign(std::string_view member, double score);
    bool erase(std::string_view member);
    // Removes and returns up to `count` members with the lowest scores.
    std::vector<Item> pop_min(std::size_t count);

    std::size_t size() const { return scores_.size(); }
    bool empty() const { return scores_.empty(); }
    // Members in order (ascending score, then member).
    const Ordered &ordered() const { return ordered_; }

private:
    Ordered ordered_;
    StringMap<double> scores_;
};

} // namespace portico::kv
