// kv — an in-memory key-value store that speaks enough RESP2 for redis-cli
// and redis-benchmark. One store per bound service; its keys are handed to
// the next version of this plugin on a hot reload (export_state/import_state).
#include "Resp.h"

#include <portico/portico.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#ifndef PORTICO_KV_VERSION
#define PORTICO_KV_VERSION "1.0.0"
#endif

namespace {

namespace resp = portico::kv::resp;
using Clock = std::chrono::steady_clock;
using Args = std::vector<std::string_view>;

struct Entry {
    std::string value;
    std::optional<Clock::time_point> expires;
};

// The service's keys. Every command runs under one lock: commands are short,
// and a single lock makes MSET, INCR and the hand-off atomic.
class Store : public portico::ServiceContext {
public:
    void open() override {
        limits_.max_bulk = parse_size(config("max_value_bytes"), limits_.max_bulk);
        limits_.max_args = parse_size(config("max_args"), limits_.max_args);
    }

    // Serialises every live key: "PKV1", then per key its name, value and
    // remaining lifetime in ms (-1: none), as RESP bulk strings so that the
    // reader can reuse the parser. After the export this store is retired:
    // sessions still on the old version are told to reconnect, so no write
    // lands in a store nobody will read again.
    std::string export_state() override {
        std::lock_guard lock(mutex_);
        const auto now = Clock::now();
        std::string out = "PKV1";
        std::size_t live = 0;
        for (const auto &[key, entry] : map_)
            if (!expired(entry, now)) ++live;
        resp::append_array(out, live * 3);
        for (const auto &[key, entry] : map_) {
            if (expired(entry, now)) continue;
            resp::append_bulk(out, key);
            resp::append_bulk(out, entry.value);
            const int64_t ttl =
                entry.expires
                    ? std::chrono::duration_cast<std::chrono::milliseconds>(*entry.expires - now).count()
                    : -1;
            resp::append_bulk(out, std::to_string(ttl));
        }
        retired_ = true;
        log(portico::LogLevel::info, "handed " + std::to_string(live) + " key(s) to the next plugin version");
        return out;
    }

    void import_state(std::string_view bytes) override {
        if (bytes.substr(0, 4) != "PKV1") {
            // A format this version does not know: start empty rather than
            // refuse the reload and leave the retired store serving.
            log(portico::LogLevel::warning, "previous version's state is in an unknown format; starting empty");
            return;
        }
        resp::Limits unbounded;
        unbounded.max_args = std::numeric_limits<std::size_t>::max();
        unbounded.max_bulk = std::numeric_limits<std::size_t>::max();
        resp::Command parsed;
        resp::parse_command(bytes.substr(4), parsed, unbounded);
        if (parsed.status != resp::ParseStatus::complete || parsed.args.size() % 3 != 0)
            throw std::runtime_error("previous version's state is corrupt");
        std::lock_guard lock(mutex_);
        const auto now = Clock::now();
        for (std::size_t i = 0; i < parsed.args.size(); i += 3) {
            const auto ttl = resp::parse_int64(parsed.args[i + 2]);
            if (!ttl) throw std::runtime_error("previous version's state has a bad expiry");
            Entry entry{std::string(parsed.args[i + 1]), std::nullopt};
            if (*ttl >= 0) entry.expires = now + std::chrono::milliseconds(*ttl);
            map_.insert_or_assign(std::string(parsed.args[i]), std::move(entry));
        }
        log(portico::LogLevel::info, "took over " + std::to_string(parsed.args.size() / 3) + " key(s)");
    }

    const resp::Limits &limits() const { return limits_; }

    // Runs one command and appends its reply. False: close the connection
    // after sending what `out` holds.
    bool execute(const Args &args, std::string &out);

private:
    static std::size_t parse_size(const std::optional<std::string> &text, std::size_t fallback) {
        if (!text) return fallback;
        const auto n = resp::parse_int64(*text);
        return n && *n > 0 ? static_cast<std::size_t>(*n) : fallback;
    }
    static bool expired(const Entry &e, Clock::time_point now) { return e.expires && *e.expires <= now; }

    // The live entry for key, dropping it if it has expired.
    Entry *find(std::string_view key, Clock::time_point now) {
        const auto it = map_.find(std::string(key));
        if (it == map_.end()) return nullptr;
        if (expired(it->second, now)) {
            map_.erase(it);
            return nullptr;
        }
        return &it->second;
    }
    void purge_expired(Clock::time_point now) {
        std::erase_if(map_, [now](const auto &item) { return expired(item.second, now); });
    }

    void cmd_set(const Args &args, std::string &out, Clock::time_point now);
    void cmd_incr(std::string_view key, int64_t delta, std::string &out, Clock::time_point now);
    void cmd_ttl(std::string_view key, bool millis, std::string &out, Clock::time_point now);

    std::mutex mutex_;
    std::unordered_map<std::string, Entry> map_;
    bool retired_ = false;
    resp::Limits limits_;
};

// The commands this store knows, in the shape COMMAND reports them: arity
// (negative: at least that many args), flags and key positions.
struct CommandInfo {
    const char *name;
    int arity;
    const char *flag;
    int first_key, last_key, step;
};
constexpr CommandInfo command_table[] = {
    {"ping", -1, "fast", 0, 0, 0},       {"echo", 2, "fast", 0, 0, 0},      {"get", 2, "readonly", 1, 1, 1},
    {"set", -3, "write", 1, 1, 1},       {"del", -2, "write", 1, -1, 1},    {"exists", -2, "readonly", 1, -1, 1},
    {"incr", 2, "write", 1, 1, 1},       {"decr", 2, "write", 1, 1, 1},     {"incrby", 3, "write", 1, 1, 1},
    {"decrby", 3, "write", 1, 1, 1},     {"mget", -2, "readonly", 1, -1, 1}, {"mset", -3, "write", 1, -1, 2},
    {"ttl", 2, "readonly", 1, 1, 1},     {"pttl", 2, "readonly", 1, 1, 1},  {"dbsize", 1, "readonly", 0, 0, 0},
    {"flushall", -1, "write", 0, 0, 0},  {"flushdb", -1, "write", 0, 0, 0}, {"command", -1, "loading", 0, 0, 0},
    {"config", -2, "admin", 0, 0, 0},    {"select", 2, "fast", 0, 0, 0},    {"quit", -1, "fast", 0, 0, 0},
};

const CommandInfo *lookup(std::string_view lower_name) {
    for (const auto &info : command_table)
        if (lower_name == info.name) return &info;
    return nullptr;
}

bool arity_ok(const CommandInfo &info, std::size_t argc) {
    const auto n = static_cast<int>(std::min<std::size_t>(argc, 1 << 30));
    return info.arity >= 0 ? n == info.arity : n >= -info.arity;
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char &c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

void append_command_info(std::string &out, const CommandInfo &info) {
    resp::append_array(out, 6);
    resp::append_bulk(out, info.name);
    resp::append_integer(out, info.arity);
    resp::append_array(out, 1);
    resp::append_simple(out, info.flag);
    resp::append_integer(out, info.first_key);
    resp::append_integer(out, info.last_key);
    resp::append_integer(out, info.step);
}

void cmd_command(const Args &args, std::string &out) {
    const std::string sub = args.size() > 1 ? lower(args[1]) : "";
    if (sub.empty()) {
        resp::append_array(out, std::size(command_table));
        for (const auto &info : command_table) append_command_info(out, info);
    } else if (sub == "count") {
        resp::append_integer(out, static_cast<int64_t>(std::size(command_table)));
    } else if (sub == "info") {
        resp::append_array(out, args.size() - 2);
        for (std::size_t i = 2; i < args.size(); ++i) {
            if (const CommandInfo *info = lookup(lower(args[i]))) append_command_info(out, *info);
            else resp::append_null(out);
        }
    } else if (sub == "docs") {
        resp::append_array(out, 0); // no docs: clients then just show no hints
    } else {
        resp::append_error(out, "ERR unknown subcommand '" + std::string(args[1]) + "'. Try COMMAND HELP.");
    }
}

// redis-benchmark asks for these two settings before it starts.
void cmd_config(const Args &args, std::string &out) {
    if (lower(args[1]) != "get" || args.size() != 3) {
        resp::append_error(out, "ERR CONFIG supports only CONFIG GET <parameter> here");
        return;
    }
    const std::string param = lower(args[2]);
    if (param == "save" || param == "appendonly") {
        resp::append_array(out, 2);
        resp::append_bulk(out, param);
        resp::append_bulk(out, param == "save" ? "" : "no");
    } else {
        resp::append_array(out, 0);
    }
}

void Store::cmd_set(const Args &args, std::string &out, Clock::time_point now) {
    std::optional<Clock::time_point> expires;
    bool nx = false, xx = false, keep_ttl = false;
    for (std::size_t i = 3; i < args.size(); ++i) {
        const std::string option = lower(args[i]);
        if ((option == "ex" || option == "px") && i + 1 < args.size() && !expires && !keep_ttl) {
            const auto n = resp::parse_int64(args[++i]);
            const int64_t max = std::numeric_limits<int64_t>::max() / (option == "ex" ? 1'000'000'000 : 1'000'000);
            if (!n || *n <= 0 || *n > max) {
                resp::append_error(out, "ERR invalid expire time in 'set' command");
                return;
            }
            const auto ms = std::chrono::milliseconds(option == "ex" ? *n * 1000 : *n);
            expires = now + ms;
        } else if (option == "nx" && !xx) {
            nx = true;
        } else if (option == "xx" && !nx) {
            xx = true;
        } else if (option == "keepttl" && !expires) {
            keep_ttl = true;
        } else {
            resp::append_error(out, "ERR syntax error");
            return;
        }
    }
    Entry *existing = find(args[1], now);
    if ((nx && existing) || (xx && !existing)) {
        resp::append_null(out);
        return;
    }
    if (existing) {
        existing->value.assign(args[2]);
        if (!keep_ttl) existing->expires = expires;
    } else {
        map_.emplace(std::string(args[1]), Entry{std::string(args[2]), expires});
    }
    resp::append_simple(out, "OK");
}

void Store::cmd_incr(std::string_view key, int64_t delta, std::string &out, Clock::time_point now) {
    Entry *entry = find(key, now);
    int64_t value = 0;
    if (entry) {
        const auto current = resp::parse_int64(entry->value);
        if (!current) {
            resp::append_error(out, "ERR value is not an integer or out of range");
            return;
        }
        value = *current;
    }
    if ((delta > 0 && value > std::numeric_limits<int64_t>::max() - delta) ||
        (delta < 0 && value < std::numeric_limits<int64_t>::min() - delta)) {
        resp::append_error(out, "ERR increment or decrement would overflow");
        return;
    }
    value += delta;
    if (entry) entry->value = std::to_string(value); // INCR keeps the key's TTL, as Redis does
    else map_.emplace(std::string(key), Entry{std::to_string(value), std::nullopt});
    resp::append_integer(out, value);
}

void Store::cmd_ttl(std::string_view key, bool millis, std::string &out, Clock::time_point now) {
    const Entry *entry = find(key, now);
    if (!entry) return resp::append_integer(out, -2);
    if (!entry->expires) return resp::append_integer(out, -1);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*entry->expires - now).count();
    resp::append_integer(out, millis ? left : (left + 500) / 1000);
}

bool Store::execute(const Args &args, std::string &out) {
    const std::string name = lower(args[0]);
    const CommandInfo *info = lookup(name);
    if (info == nullptr) {
        std::string message = "ERR unknown command '" + std::string(args[0].substr(0, 128)) + "', with args beginning with: ";
        for (std::size_t i = 1; i < args.size() && i < 4; ++i) message += "'" + std::string(args[i].substr(0, 64)) + "' ";
        resp::append_error(out, message);
        return true;
    }
    if (!arity_ok(*info, args.size())) {
        resp::append_error(out, "ERR wrong number of arguments for '" + name + "' command");
        return true;
    }
    if (name == "quit") {
        resp::append_simple(out, "OK");
        return false;
    }

    std::lock_guard lock(mutex_);
    if (retired_) {
        resp::append_error(out, "ERR the kv plugin was reloaded: reconnect to reach the new version");
        return false;
    }
    const auto now = Clock::now();
    if (name == "ping") {
        if (args.size() > 2) resp::append_error(out, "ERR wrong number of arguments for 'ping' command");
        else if (args.size() == 2) resp::append_bulk(out, args[1]);
        else resp::append_simple(out, "PONG");
    } else if (name == "echo") {
        resp::append_bulk(out, args[1]);
    } else if (name == "get") {
        if (const Entry *entry = find(args[1], now)) resp::append_bulk(out, entry->value);
        else resp::append_null(out);
    } else if (name == "set") {
        cmd_set(args, out, now);
    } else if (name == "del" || name == "exists") {
        int64_t count = 0;
        for (std::size_t i = 1; i < args.size(); ++i) {
            if (find(args[i], now) == nullptr) continue;
            ++count;
            if (name == "del") map_.erase(std::string(args[i]));
        }
        resp::append_integer(out, count);
    } else if (name == "incr" || name == "decr") {
        cmd_incr(args[1], name == "incr" ? 1 : -1, out, now);
    } else if (name == "incrby" || name == "decrby") {
        const auto delta = resp::parse_int64(args[2]);
        if (!delta || (name == "decrby" && *delta == std::numeric_limits<int64_t>::min()))
            resp::append_error(out, "ERR value is not an integer or out of range");
        else cmd_incr(args[1], name == "incrby" ? *delta : -*delta, out, now);
    } else if (name == "mget") {
        resp::append_array(out, args.size() - 1);
        for (std::size_t i = 1; i < args.size(); ++i) {
            if (const Entry *entry = find(args[i], now)) resp::append_bulk(out, entry->value);
            else resp::append_null(out);
        }
    } else if (name == "mset") {
        if (args.size() % 2 == 0) {
            resp::append_error(out, "ERR wrong number of arguments for 'mset' command");
        } else {
            for (std::size_t i = 1; i < args.size(); i += 2)
                map_.insert_or_assign(std::string(args[i]), Entry{std::string(args[i + 1]), std::nullopt});
            resp::append_simple(out, "OK");
        }
    } else if (name == "ttl" || name == "pttl") {
        cmd_ttl(args[1], name == "pttl", out, now);
    } else if (name == "dbsize") {
        purge_expired(now);
        resp::append_integer(out, static_cast<int64_t>(map_.size()));
    } else if (name == "flushall" || name == "flushdb") {
        const std::string mode = args.size() > 1 ? lower(args[1]) : "";
        if (args.size() > 2 || (!mode.empty() && mode != "sync" && mode != "async")) {
            resp::append_error(out, "ERR syntax error");
        } else {
            map_.clear();
            resp::append_simple(out, "OK");
        }
    } else if (name == "command") {
        cmd_command(args, out);
    } else if (name == "config") {
        cmd_config(args, out);
    } else if (name == "select") {
        if (args[1] == "0") resp::append_simple(out, "OK");
        else resp::append_error(out, "ERR DB index is out of range");
    }
    return true;
}

// One client connection: reads what arrives, answers every complete command
// in it (a pipelined batch gets one write), keeps the unfinished rest.
class Session : public portico::BasicStreamHandler<Store> {
    static constexpr auto poll_interval = std::chrono::milliseconds(250);
    static constexpr std::size_t flush_at = 64 * 1024;

    void handle() override {
        std::string in;
        std::string out;
        resp::Command command;
        char buf[16 * 1024];
        for (;;) {
            std::size_t pos = 0;
            for (;;) {
                resp::parse_command(std::string_view(in).substr(pos), command, context().limits());
                if (command.status == resp::ParseStatus::incomplete) break;
                if (command.status == resp::ParseStatus::error) {
                    resp::append_error(out, "ERR Protocol error: " + command.error);
                    stream().write_all(out);
                    return;
                }
                pos += command.consumed;
                if (command.args.empty()) continue;
                if (!context().execute(command.args, out)) {
                    stream().write_all(out);
                    return;
                }
                if (out.size() >= flush_at) {
                    stream().write_all(out);
                    out.clear();
                }
            }
            if (!out.empty()) {
                stream().write_all(out);
                out.clear();
            }
            in.erase(0, pos);
            const std::size_t n = read_some(buf, sizeof buf);
            if (n == 0) return;
            in.append(buf, n);
        }
    }

    // Waits for bytes in short slices so that a host shutdown is noticed at
    // once; 0 at end of stream or when the host is stopping. The host's
    // idle_timeout still ends a connection that stays silent.
    std::size_t read_some(char *buf, std::size_t cap) {
        for (;;) {
            try {
                return stream().read(buf, cap, poll_interval);
            } catch (const portico::IoError &e) {
                if (e.status() != PORTICO_ERR_TIMEOUT) throw;
                if (stream().stopping()) return 0;
            }
        }
    }
};

} // namespace

PORTICO_PLUGIN("kv", PORTICO_KV_VERSION, reg) { reg.stream<Session>("kv"); }
