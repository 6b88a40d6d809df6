// Commands.cpp — the kv dispatcher: name lookup, arity, and turning a
// command's thrown errors into Redis's error replies (see Commands.h).
#include "CommandSupport.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace portico::kv {
namespace {

const StringMap<const CommandSpec *> &by_name() {
    static const StringMap<const CommandSpec *> table = [] {
        StringMap<const CommandSpec *> map;
        for (const CommandSpec *spec : all_commands())
            map.emplace(spec->name, spec);
        return map;
    }();
    return table;
}

bool arity_ok(const CommandSpec &spec, std::size_t argc) {
    const auto n = static_cast<int64_t>(argc);
    return spec.arity >= 0 ? n == spec.arity : n >= -spec.arity;
}

// Redis 7.0's text: the name and the first arguments, 128 bytes of each at most.
void unknown_command(const Args &args, std::string &out) {
    std::string quoted;
    for (std::size_t i = 1; i < args.size() && quoted.size() < 128; ++i)
        quoted += "'" + std::string(args[i].substr(0, 128 - quoted.size())) + "' ";
    resp::append_error(out, "ERR unknown command '" + std::string(args[0].substr(0, 128)) +
                                "', with args beginning with: " + quoted);
}

} // namespace

std::span<const CommandSpec *const> all_commands() {
    static const std::vector<const CommandSpec *> all = [] {
        std::vector<const CommandSpec *> specs;
        for (const auto family : {server_commands(), key_commands(), string_commands(), list_commands(), set_commands(),
                                  hash_commands(), zset_commands()})
            for (const CommandSpec &spec : family)
                specs.push_back(&spec);
        return specs;
    }();
    return all;
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char &c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

void wrong_arity(std::string_view command) {
    throw CommandError("ERR wrong number of arguments for '" + std::string(command) + "' command");
}

int64_t integer_arg(std::string_view text, const char *message) {
    const auto value = resp::parse_int64(text);
    if (!value) throw CommandError(message);
    return *value;
}

std::size_t count_arg(std::string_view text) {
    const int64_t value = integer_arg(text, not_positive);
    if (value < 0) throw CommandError(not_positive);
    return static_cast<std::size_t>(value);
}

double float_arg(std::string_view text) {
    const std::string copy(text);
    char *end = nullptr;
    errno = 0;
    const double value = std::strtod(copy.c_str(), &end);
    const bool overflow = errno == ERANGE && (std::isinf(value) || value == 0);
    if (copy.empty() || std::isspace(static_cast<unsigned char>(copy[0])) || end != copy.c_str() + copy.size() ||
        overflow || std::isnan(value))
        throw CommandError("ERR value is not a valid float");
    return value + 0.0; // -0 becomes 0: Redis stores and prints it as "0"
}

bool clamp_range(int64_t start, int64_t stop, std::size_t size, std::size_t &first, std::size_t &last) {
    const auto n = static_cast<int64_t>(size);
    if (start < 0) start = std::max<int64_t>(start + n, 0);
    if (stop < 0) stop += n;
    if (start > stop || start >= n) return false;
    if (stop >= n) stop = n - 1;
    first = static_cast<std::size_t>(start);
    last = static_cast<std::size_t>(stop);
    return true;
}

After execute(Keyspace &keys, const ServerInfo &server, const Args &args, std::string &out, TimeMs now) {
    const std::string name = lower(args[0]);
    const auto it = by_name().find(name);
    if (it == by_name().end()) {
        unknown_command(args, out);
        return After::keep_open;
    }
    const CommandSpec &spec = *it->second;
    Request request{keys, server, args, out, now};
    const std::size_t mark = out.size();
    try {
        if (!arity_ok(spec, args.size())) wrong_arity(spec.name);
        spec.run(request);
    } catch (const WrongType &) {
        out.resize(mark);
        resp::append_error(out, "WRONGTYPE Operation against a key holding the wrong kind of value");
    } catch (const CommandError &e) {
        out.resize(mark);
        resp::append_error(out, e.what());
    }
    return request.after;
}

} // namespace portico::kv
