// KeyCommands.cpp — the kv commands on keys of any type: DEL, EXISTS, KEYS,
// TYPE, EXPIRE/PEXPIRE (NX, XX, GT, LT), TTL/PTTL and PERSIST.
#include "CommandSupport.h"
#include "Glob.h"

#include <limits>

namespace portico::kv {
namespace {

void del(Request &r) {
    int64_t removed = 0;
    for (std::size_t i = 1; i < r.args.size(); ++i)
        if (r.keys.find(r.args[i], r.now) != nullptr) removed += r.keys.erase(r.args[i]) ? 1 : 0;
    resp::append_integer(r.out, removed);
}

// Counts a key named twice twice, as Redis does.
void exists(Request &r) {
    int64_t found = 0;
    for (std::size_t i = 1; i < r.args.size(); ++i)
        if (r.keys.find(r.args[i], r.now) != nullptr) ++found;
    resp::append_integer(r.out, found);
}

void keys(Request &r) {
    r.keys.purge_expired(r.now);
    // Redis answers "*" with every key, even the empty name that the
    // matcher on its own would not match.
    const bool all = r.args[1] == "*";
    std::size_t count = 0;
    for (const auto &[key, entry] : r.keys.entries())
        if (all || glob_match(r.args[1], key)) ++count;
    resp::append_array(r.out, count);
    for (const auto &[key, entry] : r.keys.entries())
        if (all || glob_match(r.args[1], key)) resp::append_bulk(r.out, key);
}

void type(Request &r) {
    const Entry *entry = r.keys.find(r.args[1], r.now);
    resp::append_simple(r.out, entry ? type_name(entry->value) : "none");
}

void expire_generic(Request &r, bool seconds) {
    const char *name = seconds ? "expire" : "pexpire";
    bool nx = false, xx = false, gt = false, lt = false;
    for (std::size_t i = 3; i < r.args.size(); ++i) {
        const std::string option = lower(r.args[i]);
        if (option == "nx")
            nx = true;
        else if (option == "xx")
            xx = true;
        else if (option == "gt")
            gt = true;
        else if (option == "lt")
            lt = true;
        else
            throw CommandError("ERR Unsupported option " + std::string(r.args[i]));
    }
    if (nx && (xx || gt || lt))
        throw CommandError("ERR NX and XX, GT or LT options at the same time are not compatible");
    if (gt && lt) throw CommandError("ERR GT and LT options at the same time are not compatible");

    int64_t when = integer_arg(r.args[2]);
    const auto invalid = CommandError(std::string("ERR invalid expire time in '") + name + "' command");
    constexpr int64_t max = std::numeric_limits<int64_t>::max(), min = std::numeric_limits<int64_t>::min();
    if (seconds) {
        if (when > max / 1000 || when < min / 1000) throw invalid;
        when *= 1000;
    }
    if (when > max - r.now) throw invalid;
    when += r.now;

    Entry *entry = r.keys.find(r.args[1], r.now);
    if (entry == nullptr) return resp::append_integer(r.out, 0);
    // A key without expiry counts as living forever: GT never beats it, LT always does.
    const auto &current = entry->expires;
    if ((nx && current) || (xx && !current) || (gt && (!current || when <= *current)) ||
        (lt && current && when >= *current))
        return resp::append_integer(r.out, 0);
    if (when <= r.now)
        r.keys.erase(r.args[1]);
    else
        entry->expires = when;
    resp::append_integer(r.out, 1);
}

void expire(Request &r) {
    expire_generic(r, true);
}
void pexpire(Request &r) {
    expire_generic(r, false);
}

void ttl_generic(Request &r, bool seconds) {
    const Entry *entry = r.keys.find(r.args[1], r.now);
    if (entry == nullptr) return resp::append_integer(r.out, -2);
    if (!entry->expires) return resp::append_integer(r.out, -1);
    const int64_t left = *entry->expires - r.now;
    resp::append_integer(r.out, seconds ? (left + 500) / 1000 : left);
}

void ttl(Request &r) {
    ttl_generic(r, true);
}
void pttl(Request &r) {
    ttl_generic(r, false);
}

void persist(Request &r) {
    Entry *entry = r.keys.find(r.args[1], r.now);
    const bool had = entry != nullptr && entry->expires.has_value();
    if (had) entry->expires.reset();
    resp::append_integer(r.out, had ? 1 : 0);
}

constexpr CommandSpec specs[] = {
    {"del", -2, "write", 1, -1, 1, del},       {"exists", -2, "readonly", 1, -1, 1, exists},
    {"keys", 2, "readonly", 0, 0, 0, keys},    {"type", 2, "readonly", 1, 1, 1, type},
    {"expire", -3, "write", 1, 1, 1, expire},  {"pexpire", -3, "write", 1, 1, 1, pexpire},
    {"ttl", 2, "readonly", 1, 1, 1, ttl},      {"pttl", 2, "readonly", 1, 1, 1, pttl},
    {"persist", 2, "write", 1, 1, 1, persist},
};

} // namespace

std::span<const CommandSpec> key_commands() {
    return specs;
}

} // namespace portico::kv
