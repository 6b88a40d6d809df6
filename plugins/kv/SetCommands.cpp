// SetCommands.cpp — the kv commands on sets: SADD, SREM, SPOP (with a
// count), SMEMBERS, SCARD and SISMEMBER.
#include "CommandSupport.h"

#include <random>

namespace portico::kv {
namespace {

void sadd(Request &r) {
    Set &set = r.keys.obtain<Set>(r.args[1], r.now);
    int64_t added = 0;
    for (std::size_t i = 2; i < r.args.size(); ++i)
        added += set.emplace(r.args[i]).second ? 1 : 0;
    resp::append_integer(r.out, added);
}

void srem(Request &r) {
    Set *set = r.keys.find_as<Set>(r.args[1], r.now);
    int64_t removed = 0;
    if (set != nullptr) {
        for (std::size_t i = 2; i < r.args.size(); ++i) {
            const auto it = set->find(r.args[i]);
            if (it == set->end()) continue;
            set->erase(it);
            ++removed;
        }
        r.keys.erase_if_empty(r.args[1]);
    }
    resp::append_integer(r.out, removed);
}

// A random member: a random non-empty bucket, then a random place in it
// (Redis picks the same way, and its choice is not uniform either). Falls back
// to a walk when buckets are sparse, so a nearly empty big set stays cheap.
Set::iterator random_member(Set &set, std::mt19937_64 &random) {
    std::uniform_int_distribution<std::size_t> bucket_of(0, set.bucket_count() - 1);
    for (int attempt = 0; attempt < 32; ++attempt) {
        const std::size_t bucket = bucket_of(random);
        const std::size_t size = set.bucket_size(bucket);
        if (size == 0) continue;
        auto local = set.begin(bucket);
        std::advance(local, std::uniform_int_distribution<std::size_t>(0, size - 1)(random));
        return set.find(*local);
    }
    auto it = set.begin();
    std::advance(it, std::uniform_int_distribution<std::size_t>(0, set.size() - 1)(random));
    return it;
}

void spop(Request &r) {
    if (r.args.size() > 3) throw CommandError(syntax_error);
    const bool counted = r.args.size() == 3;
    const std::size_t count = counted ? count_arg(r.args[2]) : 1;
    Set *set = r.keys.find_as<Set>(r.args[1], r.now);
    if (set == nullptr) return counted ? resp::append_array(r.out, 0) : resp::append_null(r.out);
    const std::size_t n = std::min(count, set->size());
    if (counted) resp::append_array(r.out, n);
    for (std::size_t i = 0; i < n; ++i) {
        const auto it = random_member(*set, r.keys.random());
        resp::append_bulk(r.out, *it);
        set->erase(it);
    }
    r.keys.erase_if_empty(r.args[1]);
}

void smembers(Request &r) {
    const Set *set = r.keys.find_as<Set>(r.args[1], r.now);
    if (set == nullptr) return resp::append_array(r.out, 0);
    resp::append_array(r.out, set->size());
    for (const auto &member : *set)
        resp::append_bulk(r.out, member);
}

void scard(Request &r) {
    const Set *set = r.keys.find_as<Set>(r.args[1], r.now);
    resp::append_integer(r.out, set ? static_cast<int64_t>(set->size()) : 0);
}

void sismember(Request &r) {
    const Set *set = r.keys.find_as<Set>(r.args[1], r.now);
    resp::append_integer(r.out, set && set->contains(r.args[2]) ? 1 : 0);
}

constexpr CommandSpec specs[] = {
    {"sadd", -3, "write", 1, 1, 1, sadd},     {"srem", -3, "write", 1, 1, 1, srem},
    {"spop", -2, "write", 1, 1, 1, spop},     {"smembers", 2, "readonly", 1, 1, 1, smembers},
    {"scard", 2, "readonly", 1, 1, 1, scard}, {"sismember", 3, "readonly", 1, 1, 1, sismember},
};

} // namespace

std::span<const CommandSpec> set_commands() {
    return specs;
}

} // namespace portico::kv
