// SortedSet.cpp — a score index and an ordered set kept in step (see SortedSet.h).
#include "SortedSet.h"

namespace portico::kv {

std::optional<double> SortedSet::score(std::string_view member) const {
    const auto it = scores_.find(member);
    if (it == scores_.end()) return std::nullopt;
    return it->second;
}

bool SortedSet::assign(std::string_view member, double score) {
    const auto it = scores_.find(member);
    if (it == scores_.end()) {
        scores_.emplace(std::string(member), score);
        ordered_.emplace(score, std::string(member));
        return true;
    }
    if (it->second != score) {
        auto node = ordered_.extract(Item{it->second, it->first});
        node.value().first = score;
        ordered_.insert(std::move(node));
        it->second = score;
    }
    return false;
}

bool SortedSet::erase(std::string_view member) {
    const auto it = scores_.find(member);
    if (it == scores_.end()) return false;
    ordered_.erase(Item{it->second, it->first});
    scores_.erase(it);
    return true;
}

std::vector<SortedSet::Item> SortedSet::pop_min(std::size_t count) {
    std::vector<Item> popped;
    while (popped.size() < count && !ordered_.empty()) {
        auto node = ordered_.extract(ordered_.begin());
        scores_.erase(node.value().second);
        popped.push_back(std::move(node.value()));
    }
    return popped;
}

} // namespace portico::kv
