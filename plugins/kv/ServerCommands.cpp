// ServerCommands.cpp — the kv commands about the connection and the server
// rather than one key: PING, ECHO, QUIT, SELECT, DBSIZE, FLUSHALL/FLUSHDB,
// INFO, CONFIG GET and COMMAND.
#include "CommandSupport.h"
#include "Glob.h"

#include <unistd.h>

#include <array>
#include <utility>

namespace portico::kv {
namespace {

void ping(Request &r) {
    if (r.args.size() > 2) wrong_arity("ping");
    if (r.args.size() == 2)
        resp::append_bulk(r.out, r.args[1]);
    else
        resp::append_simple(r.out, "PONG");
}

void echo(Request &r) {
    resp::append_bulk(r.out, r.args[1]);
}

void quit(Request &r) {
    resp::append_simple(r.out, "OK");
    r.after = After::close;
}

void select(Request &r) {
    if (integer_arg(r.args[1]) != 0) throw CommandError("ERR DB index is out of range");
    resp::append_simple(r.out, "OK");
}

void dbsize(Request &r) {
    r.keys.purge_expired(r.now);
    resp::append_integer(r.out, static_cast<int64_t>(r.keys.size()));
}

void flush(Request &r) {
    const std::string mode = r.args.size() > 1 ? lower(r.args[1]) : "";
    if (r.args.size() > 2 || (!mode.empty() && mode != "sync" && mode != "async")) throw CommandError(syntax_error);
    r.keys.clear();
    resp::append_simple(r.out, "OK");
}

// Clients and tools read redis_version to decide which commands and reply
// formats to expect: it names the Redis release whose formats this follows.
void info_server(Request &r, std::string &text) {
    const int64_t up = (r.now - r.server.started) / 1000;
    text += "# Server\r\n";
    text += "redis_version:7.0.0\r\n";
    text += "redis_mode:standalone\r\n";
    text += "portico_kv_version:" + std::string(r.server.plugin_version) + "\r\n";
    text += "arch_bits:" + std::to_string(sizeof(void *) * 8) + "\r\n";
    text += "process_id:" + std::to_string(::getpid()) + "\r\n";
    text += "uptime_in_seconds:" + std::to_string(up) + "\r\n";
    text += "uptime_in_days:" + std::to_string(up / 86400) + "\r\n";
}

// As Redis: the line is left out while the keyspace is empty.
void info_keyspace(Request &r, std::string &text) {
    r.keys.purge_expired(r.now);
    text += "# Keyspace\r\n";
    if (r.keys.size() == 0) return;
    std::size_t volatile_keys = 0;
    for (const auto &[key, entry] : r.keys.entries())
        if (entry.expires) ++volatile_keys;
    text +=
        "db0:keys=" + std::to_string(r.keys.size()) + ",expires=" + std::to_string(volatile_keys) + ",avg_ttl=0\r\n";
}

void info(Request &r) {
    bool server = r.args.size() == 1, keyspace = r.args.size() == 1;
    for (std::size_t i = 1; i < r.args.size(); ++i) {
        const std::string section = lower(r.args[i]);
        const bool every = section == "all" || section == "default" || section == "everything";
        server = server || every || section == "server";
        keyspace = keyspace || every || section == "keyspace";
    }
    std::string text;
    if (server) info_server(r, text);
    if (keyspace) {
        if (!text.empty()) text += "\r\n";
        info_keyspace(r, text);
    }
    resp::append_bulk(r.out, text);
}

// The settings redis-benchmark reads before it starts; there is no
// persistence, so no snapshots and no append-only file.
constexpr std::array<std::pair<const char *, const char *>, 2> settings{{{"save", ""}, {"appendonly", "no"}}};

void config(Request &r) {
    const std::string sub = lower(r.args[1]);
    if (sub == "get") {
        if (r.args.size() < 3) wrong_arity("config|get");
        std::vector<std::pair<const char *, const char *>> found;
        for (const auto &setting : settings)
            for (std::size_t i = 2; i < r.args.size(); ++i)
                if (glob_match(lower(r.args[i]), setting.first)) {
                    found.push_back(setting);
                    break;
                }
        resp::append_array(r.out, found.size() * 2);
        for (const auto &[name, value] : found) {
            resp::append_bulk(r.out, name);
            resp::append_bulk(r.out, value);
        }
    } else if (sub == "set") {
        throw CommandError("ERR CONFIG SET is not supported by the kv plugin");
    } else if (sub == "resetstat") {
        resp::append_simple(r.out, "OK");
    } else {
        throw CommandError("ERR unknown subcommand '" + std::string(r.args[1]) + "'. Try CONFIG HELP.");
    }
}

void append_command_info(std::string &out, const CommandSpec &spec) {
    resp::append_array(out, 6);
    resp::append_bulk(out, spec.name);
    resp::append_integer(out, spec.arity);
    resp::append_array(out, 1);
    resp::append_simple(out, spec.flags);
    resp::append_integer(out, spec.first_key);
    resp::append_integer(out, spec.last_key);
    resp::append_integer(out, spec.step);
}

const CommandSpec *find_spec(std::string_view name) {
    for (const CommandSpec *spec : all_commands())
        if (name == spec->name) return spec;
    return nullptr;
}

void command(Request &r) {
    const std::string sub = r.args.size() > 1 ? lower(r.args[1]) : "";
    if (sub.empty()) {
        resp::append_array(r.out, all_commands().size());
        for (const CommandSpec *spec : all_commands())
            append_command_info(r.out, *spec);
    } else if (sub == "count") {
        resp::append_integer(r.out, static_cast<int64_t>(all_commands().size()));
    } else if (sub == "info") {
        resp::append_array(r.out, r.args.size() - 2);
        for (std::size_t i = 2; i < r.args.size(); ++i) {
            if (const CommandSpec *spec = find_spec(lower(r.args[i])))
                append_command_info(r.out, *spec);
            else
                resp::append_null(r.out);
        }
    } else if (sub == "docs") {
        resp::append_array(r.out, 0); // no docs: redis-cli then just shows no hints
    } else {
        throw CommandError("ERR unknown subcommand '" + std::string(r.args[1]) + "'. Try COMMAND HELP.");
    }
}

constexpr CommandSpec specs[] = {
    {"ping", -1, "fast", 0, 0, 0, ping},        {"echo", 2, "fast", 0, 0, 0, echo},
    {"quit", -1, "fast", 0, 0, 0, quit},        {"select", 2, "fast", 0, 0, 0, select},
    {"dbsize", 1, "readonly", 0, 0, 0, dbsize}, {"flushall", -1, "write", 0, 0, 0, flush},
    {"flushdb", -1, "write", 0, 0, 0, flush},   {"info", -1, "loading", 0, 0, 0, info},
    {"config", -2, "admin", 0, 0, 0, config},   {"command", -1, "loading", 0, 0, 0, command},
};

} // namespace

std::span<const CommandSpec> server_commands() {
    return specs;
}

} // namespace portico::kv
