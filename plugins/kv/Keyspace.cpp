// Keyspace.cpp — typed keys with lazy expiry (see Keyspace.h).
#include "Keyspace.h"

#include <array>

namespace portico::kv {
namespace {

bool expired(const Entry &entry, TimeMs now) {
    return entry.expires && *entry.expires <= now;
}

bool empty_aggregate(const Value &value) {
    return std::visit(
        [](const auto &v) {
            if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>)
                return false;
            else
                return v.empty();
        },
        value);
}

} // namespace

std::string_view type_name(const Value &value) {
    static constexpr std::array<std::string_view, std::variant_size_v<Value>> names{"string", "list", "set", "hash",
                                                                                    "zset"};
    return names[value.index()];
}

Entry *Keyspace::find(std::string_view key, TimeMs now) {
    const auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    if (expired(it->second, now)) {
        map_.erase(it);
        return nullptr;
    }
    return &it->second;
}

void Keyspace::assign(std::string_view key, Entry entry) {
    const auto it = map_.find(key);
    if (it != map_.end())
        it->second = std::move(entry);
    else
        map_.emplace(std::string(key), std::move(entry));
}

bool Keyspace::erase(std::string_view key) {
    const auto it = map_.find(key);
    if (it == map_.end()) return false;
    map_.erase(it);
    return true;
}

void Keyspace::erase_if_empty(std::string_view key) {
    const auto it = map_.find(key);
    if (it != map_.end() && empty_aggregate(it->second.value)) map_.erase(it);
}

void Keyspace::purge_expired(TimeMs now) {
    std::erase_if(map_, [now](const auto &item) { return expired(item.second, now); });
}

} // namespace portico::kv
