// Keyspace.h — the kv plugin's keys: typed values (string, list, set, hash,
// sorted set) with optional expiry times, dropped lazily when found expired.
#pragma once

#include "SortedSet.h"
#include "StringMap.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <variant>

namespace portico::kv {

using Clock = std::chrono::steady_clock;
// Times are whole milliseconds on the steady clock, as Redis keeps expiry
// times in ms: int64 arithmetic on them cannot overflow a duration's ticks.
using TimeMs = int64_t;
inline TimeMs now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

using List = std::deque<std::string>;
using Set = StringSet;
using Hash = StringMap<std::string>;
// type_name() relies on the order of the alternatives.
using Value = std::variant<std::string, List, Set, Hash, SortedSet>;

// The name TYPE replies with ("string", "list", "set", "hash", "zset").
std::string_view type_name(const Value &value);

struct Entry {
    Value value;
    std::optional<TimeMs> expires;
};

// Thrown when a command meets a key holding another type than it works on;
// the command layer answers it with Redis's WRONGTYPE error.
struct WrongType {};

class Keyspace {
public:
    // The live entry for `key`, or nullptr; an expired entry is dropped first.
    Entry *find(std::string_view key, TimeMs now);

    // The value of type T at `key`, nullptr when there is none; WrongType when
    // the key holds another type.
    template <class T> T *find_as(std::string_view key, TimeMs now) {
        Entry *entry = find(key, now);
        if (entry == nullptr) return nullptr;
        T *value = std::get_if<T>(&entry->value);
        if (value == nullptr) throw WrongType{};
        return value;
    }

    // find_as, creating an empty T without expiry when the key is absent.
    template <class T> T &obtain(std::string_view key, TimeMs now) {
        if (T *value = find_as<T>(key, now)) return *value;
        return std::get<T>(map_.insert_or_assign(std::string(key), Entry{T{}, std::nullopt}).first->second.value);
    }

    // Replaces whatever `key` held.
    void assign(std::string_view key, Entry entry);
    bool erase(std::string_view key);
    // Redis never keeps an empty list, set, hash or sorted set: a command that
    // removed the last element calls this.
    void erase_if_empty(std::string_view key);
    void clear() { map_.clear(); }

    // Drops every expired key; afterwards entries() holds live keys only.
    void purge_expired(TimeMs now);
    const StringMap<Entry> &entries() const { return map_; }
    std::size_t size() const { return map_.size(); }

    // For SPOP: one store-wide generator, used under the store's lock.
    std::mt19937_64 &random() { return random_; }

private:
    StringMap<Entry> map_;
    std::mt19937_64 random_{std::random_device{}()};
};

} // namespace portico::kv
