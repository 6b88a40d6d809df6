// HashCommands.cpp — the kv commands on hashes: HSET, HGET, HGETALL, HDEL
// and HLEN.
#include "CommandSupport.h"

namespace portico::kv {
namespace {

void hset(Request &r) {
    if (r.args.size() % 2 != 0) wrong_arity("hset");
    Hash &hash = r.keys.obtain<Hash>(r.args[1], r.now);
    int64_t added = 0;
    for (std::size_t i = 2; i < r.args.size(); i += 2) {
        const auto it = hash.find(r.args[i]);
        if (it != hash.end()) {
            it->second.assign(r.args[i + 1]);
        } else {
            hash.emplace(std::string(r.args[i]), std::string(r.args[i + 1]));
            ++added;
        }
    }
    resp::append_integer(r.out, added);
}

void hget(Request &r) {
    const Hash *hash = r.keys.find_as<Hash>(r.args[1], r.now);
    const auto it = hash ? hash->find(r.args[2]) : Hash::const_iterator{};
    if (hash && it != hash->end())
        resp::append_bulk(r.out, it->second);
    else
        resp::append_null(r.out);
}

void hgetall(Request &r) {
    const Hash *hash = r.keys.find_as<Hash>(r.args[1], r.now);
    if (hash == nullptr) return resp::append_array(r.out, 0);
    resp::append_array(r.out, hash->size() * 2);
    for (const auto &[field, value] : *hash) {
        resp::append_bulk(r.out, field);
        resp::append_bulk(r.out, value);
    }
}

void hdel(Request &r) {
    Hash *hash = r.keys.find_as<Hash>(r.args[1], r.now);
    int64_t removed = 0;
    if (hash != nullptr) {
        for (std::size_t i = 2; i < r.args.size(); ++i) {
            const auto it = hash->find(r.args[i]);
            if (it == hash->end()) continue;
            hash->erase(it);
            ++removed;
        }
        r.keys.erase_if_empty(r.args[1]);
    }
    resp::append_integer(r.out, removed);
}

void hlen(Request &r) {
    const Hash *hash = r.keys.find_as<Hash>(r.args[1], r.now);
    resp::append_integer(r.out, hash ? static_cast<int64_t>(hash->size()) : 0);
}

constexpr CommandSpec specs[] = {
    {"hset", -4, "write", 1, 1, 1, hset},         {"hget", 3, "readonly", 1, 1, 1, hget},
    {"hgetall", 2, "readonly", 1, 1, 1, hgetall}, {"hdel", -3, "write", 1, 1, 1, hdel},
    {"hlen", 2, "readonly", 1, 1, 1, hlen},
};

} // namespace

std::span<const CommandSpec> hash_commands() {
    return specs;
}

} // namespace portico::kv
