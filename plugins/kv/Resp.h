// Resp.h — RESP2, the Redis wire protocol, for the kv plugin: parsing client
// commands out of a byte buffer and encoding replies. Pure functions without
// I/O, so they can be unit-tested and fuzzed on their own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::kv::resp {

// Bounds on what one command may claim, so hostile input cannot make the
// server allocate or wait for unbounded amounts.
struct Limits {
    std::size_t max_args = 1024 * 1024;      // elements of one command array
    std::size_t max_bulk = 64 * 1024 * 1024; // bytes of one argument
    std::size_t max_inline = 64 * 1024;      // bytes of one inline command line
};

enum class ParseStatus {
    complete,   // args hold one command; `consumed` bytes of input were used
    incomplete, // the input ends inside a command: read more and call again
    error       // the input is not RESP; `error` says why (answer it, then close)
};

struct Command {
    ParseStatus status = ParseStatus::incomplete;
    std::size_t consumed = 0;
    std::vector<std::string_view> args; // views into the parsed input
    std::string error;
};

// Parses the first command in `input`: either a RESP array of bulk strings
// (what every client library sends) or an inline command, a line of words
// separated by spaces (what telnet and `nc` users type). A complete command
// may have no args (an empty line, "*0"): skip it. `out` is reused so that a
// pipelined batch does not allocate per command.
void parse_command(std::string_view input, Command &out, const Limits &limits = {});

// A strict decimal integer as Redis accepts it: optional '-', digits, no
// spaces, no '+', no leading zeros, within int64_t.
std::optional<int64_t> parse_int64(std::string_view text);

// Reply encoders: each appends one RESP2 value to `out`.
void append_simple(std::string &out, std::string_view text);   // +text
void append_error(std::string &out, std::string_view message); // -message (CR/LF replaced by spaces)
void append_integer(std::string &out, int64_t value);          // :value
void append_bulk(std::string &out, std::string_view bytes);    // $len bytes
void append_null(std::string &out);                            // $-1
void append_null_array(std::string &out);                      // *-1
void append_double(std::string &out, double value);            // $len %.17g, "inf", "-inf"
void append_array(std::string &out, std::size_t count);        // *count, then count values

} // namespace portico::kv::resp
