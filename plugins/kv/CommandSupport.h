// CommandSupport.h — what the kv command families share: the request they
// run, their table entries, and argument parsing with Redis's error texts.
#pragma once

#include "Commands.h"
#include "Resp.h"

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace portico::kv {

struct Request {
    Keyspace &keys;
    const ServerInfo &server;
    const Args &args;
    std::string &out;
    TimeMs now;
    After after = After::keep_open; // QUIT sets close
};

// A reply error, thrown before anything of the reply was appended; the
// message is the whole error line without its '-' ("ERR ...").
struct CommandError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct CommandSpec {
    const char *name;  // lower case
    int arity;         // as Redis counts it: negative means at least -arity args
    const char *flags; // the one flag COMMAND reports
    int first_key, last_key, step;
    void (*run)(Request &);
};

// Each family's commands (one source file each).
std::span<const CommandSpec> server_commands();
std::span<const CommandSpec> key_commands();
std::span<const CommandSpec> string_commands();
std::span<const CommandSpec> list_commands();
std::span<const CommandSpec> set_commands();
std::span<const CommandSpec> hash_commands();
std::span<const CommandSpec> zset_commands();

// All commands, for COMMAND and the dispatcher.
std::span<const CommandSpec *const> all_commands();

inline constexpr const char *not_an_integer = "ERR value is not an integer or out of range";
inline constexpr const char *not_positive = "ERR value is out of range, must be positive";
inline constexpr const char *syntax_error = "ERR syntax error";

std::string lower(std::string_view text);
[[noreturn]] void wrong_arity(std::string_view command);
// A strict int64 argument, or CommandError(message).
int64_t integer_arg(std::string_view text, const char *message = not_an_integer);
// A count that must be >= 0 (LPOP, SPOP, ZPOPMIN), as Redis checks it.
std::size_t count_arg(std::string_view text);
// A float as Redis's strtod-based parser accepts it ("inf" too, not NaN).
double float_arg(std::string_view text);
// Clamps Redis-style start/stop indexes (negative: from the end) to
// [first, last] within `size`; false when the range is empty.
bool clamp_range(int64_t start, int64_t stop, std::size_t size, std::size_t &first, std::size_t &last);

} // namespace portico::kv
