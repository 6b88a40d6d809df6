// StringCommands.cpp — the kv commands on string values: GET, SET (EX, PX,
// NX, XX, KEEPTTL), INCR/DECR/INCRBY/DECRBY, MGET and MSET.
#include "CommandSupport.h"

#include <limits>

namespace portico::kv {
namespace {

void get(Request &r) {
    if (const auto *value = r.keys.find_as<std::string>(r.args[1], r.now))
        resp::append_bulk(r.out, *value);
    else
        resp::append_null(r.out);
}

// SET replaces a value of any type.
void set(Request &r) {
    std::optional<TimeMs> expires;
    bool nx = false, xx = false, keep_ttl = false;
    for (std::size_t i = 3; i < r.args.size(); ++i) {
        const std::string option = lower(r.args[i]);
        if ((option == "ex" || option == "px") && i + 1 < r.args.size() && !expires && !keep_ttl) {
            const int64_t n = integer_arg(r.args[++i]);
            const int64_t max = (std::numeric_limits<int64_t>::max() - r.now) / (option == "ex" ? 1000 : 1);
            if (n <= 0 || n > max) throw CommandError("ERR invalid expire time in 'set' command");
            expires = r.now + (option == "ex" ? n * 1000 : n);
        } else if (option == "nx" && !xx) {
            nx = true;
        } else if (option == "xx" && !nx) {
            xx = true;
        } else if (option == "keepttl" && !expires) {
            keep_ttl = true;
        } else {
            throw CommandError(syntax_error);
        }
    }
    Entry *existing = r.keys.find(r.args[1], r.now);
    if ((nx && existing) || (xx && !existing)) return resp::append_null(r.out);
    if (existing) {
        existing->value = std::string(r.args[2]);
        if (!keep_ttl) existing->expires = expires;
    } else {
        r.keys.assign(r.args[1], Entry{std::string(r.args[2]), expires});
    }
    resp::append_simple(r.out, "OK");
}

void add(Request &r, int64_t delta) {
    auto *value = r.keys.find_as<std::string>(r.args[1], r.now);
    int64_t current = 0;
    if (value) current = integer_arg(*value);
    if ((delta > 0 && current > std::numeric_limits<int64_t>::max() - delta) ||
        (delta < 0 && current < std::numeric_limits<int64_t>::min() - delta))
        throw CommandError("ERR increment or decrement would overflow");
    current += delta;
    if (value)
        *value = std::to_string(current); // the key keeps its TTL, as in Redis
    else
        r.keys.assign(r.args[1], Entry{std::to_string(current), std::nullopt});
    resp::append_integer(r.out, current);
}

void incr(Request &r) {
    add(r, 1);
}
void decr(Request &r) {
    add(r, -1);
}
void incrby(Request &r) {
    add(r, integer_arg(r.args[2]));
}
void decrby(Request &r) {
    const int64_t delta = integer_arg(r.args[2]);
    if (delta == std::numeric_limits<int64_t>::min()) throw CommandError("ERR decrement would overflow");
    add(r, -delta);
}

// A key of another type reads as nil here, not as an error.
void mget(Request &r) {
    resp::append_array(r.out, r.args.size() - 1);
    for (std::size_t i = 1; i < r.args.size(); ++i) {
        const Entry *entry = r.keys.find(r.args[i], r.now);
        const auto *value = entry ? std::get_if<std::string>(&entry->value) : nullptr;
        if (value)
            resp::append_bulk(r.out, *value);
        else
            resp::append_null(r.out);
    }
}

void mset(Request &r) {
    if (r.args.size() % 2 == 0) wrong_arity("mset");
    for (std::size_t i = 1; i < r.args.size(); i += 2)
        r.keys.assign(r.args[i], Entry{std::string(r.args[i + 1]), std::nullopt});
    resp::append_simple(r.out, "OK");
}

constexpr CommandSpec specs[] = {
    {"get", 2, "readonly", 1, 1, 1, get},     {"set", -3, "write", 1, 1, 1, set},
    {"incr", 2, "write", 1, 1, 1, incr},      {"decr", 2, "write", 1, 1, 1, decr},
    {"incrby", 3, "write", 1, 1, 1, incrby},  {"decrby", 3, "write", 1, 1, 1, decrby},
    {"mget", -2, "readonly", 1, -1, 1, mget}, {"mset", -3, "write", 1, -1, 2, mset},
};

} // namespace

std::span<const CommandSpec> string_commands() {
    return specs;
}

} // namespace portico::kv
