// StateCodec.cpp — encoding and decoding the PKV1/PKV2 hand-off (see StateCodec.h).
#include "StateCodec.h"

#include "Resp.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace portico::kv {
namespace {

namespace resp = portico::kv::resp;

std::size_t element_count(const Value &value) {
    return std::visit(
        [](const auto &v) -> std::size_t {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string>)
                return 1;
            else if constexpr (std::is_same_v<T, Hash> || std::is_same_v<T, SortedSet>)
                return v.size() * 2;
            else
                return v.size();
        },
        value);
}

void append_elements(std::string &out, const Value &value) {
    std::visit(
        [&out](const auto &v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string>) {
                resp::append_bulk(out, v);
            } else if constexpr (std::is_same_v<T, Hash>) {
                for (const auto &[field, text] : v) {
                    resp::append_bulk(out, field);
                    resp::append_bulk(out, text);
                }
            } else if constexpr (std::is_same_v<T, SortedSet>) {
                for (const auto &[score, member] : v.ordered()) {
                    resp::append_bulk(out, member);
                    resp::append_double(out, score);
                }
            } else {
                for (const auto &element : v)
                    resp::append_bulk(out, element);
            }
        },
        value);
}

int64_t remaining_ms(const Entry &entry, TimeMs now) {
    if (!entry.expires) return -1;
    return *entry.expires - now;
}

// Reads the hand-off's array with the same parser the sessions use.
std::vector<std::string_view> parse_array(std::string_view body) {
    resp::Limits unbounded;
    unbounded.max_args = std::numeric_limits<std::size_t>::max();
    unbounded.max_bulk = std::numeric_limits<std::size_t>::max();
    resp::Command parsed;
    resp::parse_command(body, parsed, unbounded);
    if (parsed.status != resp::ParseStatus::complete || parsed.consumed != body.size())
        throw std::runtime_error("previous version's state is corrupt (not one complete RESP array)");
    return std::move(parsed.args);
}

std::optional<TimeMs> expiry(std::string_view text, TimeMs now) {
    const auto ms = resp::parse_int64(text);
    if (!ms || *ms < -1)
        throw std::runtime_error("previous version's state has a bad expiry '" + std::string(text) + "'");
    if (*ms == -1) return std::nullopt;
    if (*ms > std::numeric_limits<TimeMs>::max() - now)
        throw std::runtime_error("previous version's state has an expiry out of range");
    return now + *ms;
}

double score(std::string_view text) {
    const std::string copy(text);
    char *end = nullptr;
    const double value = std::strtod(copy.c_str(), &end);
    if (copy.empty() || end != copy.c_str() + copy.size() || std::isnan(value))
        throw std::runtime_error("previous version's state has a bad score '" + copy + "'");
    return value;
}

Value decode_value(std::string_view type, const std::string_view *elements, std::size_t n, std::string_view key) {
    const auto bad = [&](const char *why) {
        return std::runtime_error("previous version's state is corrupt at key '" + std::string(key) + "': " + why);
    };
    if (type == "string") {
        if (n != 1) throw bad("a string has one element");
        return std::string(elements[0]);
    }
    if (type == "list") {
        List list;
        for (std::size_t i = 0; i < n; ++i)
            list.emplace_back(elements[i]);
        return list;
    }
    if (type == "set") {
        Set set;
        for (std::size_t i = 0; i < n; ++i)
            set.emplace(elements[i]);
        return set;
    }
    if (n % 2 != 0) throw bad("hashes and sorted sets have pairs of elements");
    if (type == "hash") {
        Hash hash;
        for (std::size_t i = 0; i < n; i += 2)
            hash.insert_or_assign(std::string(elements[i]), std::string(elements[i + 1]));
        return hash;
    }
    if (type == "zset") {
        SortedSet zset;
        for (std::size_t i = 0; i < n; i += 2)
            zset.assign(elements[i], score(elements[i + 1]));
        return zset;
    }
    throw bad("unknown type");
}

std::size_t decode_v2(std::string_view body, Keyspace &keys, TimeMs now) {
    const auto fields = parse_array(body);
    std::size_t count = 0;
    for (std::size_t i = 0; i < fields.size(); ++count) {
        if (fields.size() - i < 4) throw std::runtime_error("previous version's state is corrupt (a key is cut short)");
        const std::string_view key = fields[i], type = fields[i + 1];
        const auto expires = expiry(fields[i + 2], now);
        const auto n = resp::parse_int64(fields[i + 3]);
        i += 4;
        if (!n || *n < 0 || static_cast<uint64_t>(*n) > fields.size() - i)
            throw std::runtime_error("previous version's state is corrupt at key '" + std::string(key) +
                                     "': bad element count");
        const auto size = static_cast<std::size_t>(*n);
        keys.assign(key, Entry{decode_value(type, fields.data() + i, size, key), expires});
        i += size;
    }
    return count;
}

std::size_t decode_v1(std::string_view body, Keyspace &keys, TimeMs now) {
    const auto fields = parse_array(body);
    if (fields.size() % 3 != 0) throw std::runtime_error("previous version's state is corrupt (PKV1 needs triples)");
    for (std::size_t i = 0; i < fields.size(); i += 3)
        keys.assign(fields[i], Entry{std::string(fields[i + 1]), expiry(fields[i + 2], now)});
    return fields.size() / 3;
}

} // namespace

std::string encode_state(Keyspace &keys, TimeMs now) {
    keys.purge_expired(now);
    std::size_t fields = 0;
    for (const auto &[key, entry] : keys.entries())
        fields += 4 + element_count(entry.value);
    std::string out = "PKV2";
    resp::append_array(out, fields);
    for (const auto &[key, entry] : keys.entries()) {
        resp::append_bulk(out, key);
        resp::append_bulk(out, type_name(entry.value));
        resp::append_bulk(out, std::to_string(remaining_ms(entry, now)));
        resp::append_bulk(out, std::to_string(element_count(entry.value)));
        append_elements(out, entry.value);
    }
    return out;
}

std::optional<std::size_t> decode_state(std::string_view bytes, Keyspace &keys, TimeMs now) {
    const std::string_view magic = bytes.substr(0, 4);
    if (magic == "PKV2") return decode_v2(bytes.substr(4), keys, now);
    if (magic == "PKV1") return decode_v1(bytes.substr(4), keys, now);
    return std::nullopt;
}

} // namespace portico::kv
