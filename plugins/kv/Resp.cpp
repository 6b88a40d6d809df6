// Resp.cpp — RESP2 command parsing and reply encoding (see Resp.h).
#include "Resp.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace portico::kv::resp {
namespace {

// Redis's own limit for the "*<n>" and "$<n>" header lines.
constexpr std::size_t max_header_line = 64 * 1024;

void fail(Command &out, std::string message) {
    out.status = ParseStatus::error;
    out.args.clear();
    out.error = std::move(message);
}

std::string printable(char c) {
    if (c >= 0x20 && c < 0x7f) return std::string(1, c);
    static const char hex[] = "0123456789abcdef";
    const auto byte = static_cast<unsigned char>(c);
    return std::string("\\x") + hex[byte >> 4] + hex[byte & 0xf];
}

// Parses a non-negative length header like "*3" / "$5" (prefix already
// checked). Returns nullopt for anything that is not a plain number.
std::optional<int64_t> header_number(std::string_view digits) {
    if (digits == "-1") return -1;
    return parse_int64(digits);
}

void parse_multibulk(std::string_view input, Command &out, const Limits &limits) {
    const std::size_t end = input.find("\r\n");
    if (end == std::string_view::npos) {
        if (input.size() > max_header_line) fail(out, "too big mbulk count string");
        return;
    }
    const auto count = header_number(input.substr(1, end - 1));
    if (!count) return fail(out, "invalid multibulk length");
    std::size_t pos = end + 2;
    if (*count <= 0) {
        out.status = ParseStatus::complete;
        out.consumed = pos;
        return;
    }
    if (static_cast<uint64_t>(*count) > limits.max_args) return fail(out, "invalid multibulk length");
    const auto n = static_cast<std::size_t>(*count);
    for (std::size_t i = 0; i < n; ++i) {
        if (pos >= input.size()) return;
        if (input[pos] != '$') return fail(out, "expected '$', got '" + printable(input[pos]) + "'");
        const std::size_t line_end = input.find("\r\n", pos);
        if (line_end == std::string_view::npos) {
            if (input.size() - pos > max_header_line) fail(out, "too big bulk count string");
            return;
        }
        const auto len = header_number(input.substr(pos + 1, line_end - pos - 1));
        if (!len || *len < 0 || static_cast<uint64_t>(*len) > limits.max_bulk) return fail(out, "invalid bulk length");
        const std::size_t start = line_end + 2;
        const auto size = static_cast<std::size_t>(*len);
        if (input.size() - start < size + 2) return; // the argument or its CRLF is still on its way
        if (input[start + size] != '\r' || input[start + size + 1] != '\n')
            return fail(out, "bulk string not terminated by CRLF");
        out.args.push_back(input.substr(start, size));
        pos = start + size + 2;
    }
    out.status = ParseStatus::complete;
    out.consumed = pos;
}

void parse_inline(std::string_view input, Command &out, const Limits &limits) {
    const std::size_t nl = input.find('\n');
    if (nl == std::string_view::npos) {
        if (input.size() > limits.max_inline) fail(out, "too big inline request");
        return;
    }
    if (nl > limits.max_inline) return fail(out, "too big inline request");
    std::string_view line = input.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::size_t pos = 0;
    while (pos < line.size()) {
        while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t'))
            ++pos;
        const std::size_t start = pos;
        while (pos < line.size() && line[pos] != ' ' && line[pos] != '\t')
            ++pos;
        if (pos > start) {
            if (out.args.size() == limits.max_args) return fail(out, "too many inline arguments");
            out.args.push_back(line.substr(start, pos - start));
        }
    }
    out.status = ParseStatus::complete;
    out.consumed = nl + 1;
}

} // namespace

void parse_command(std::string_view input, Command &out, const Limits &limits) {
    out.status = ParseStatus::incomplete;
    out.consumed = 0;
    out.args.clear();
    out.error.clear();
    if (input.empty()) return;
    if (input[0] == '*') {
        parse_multibulk(input, out, limits);
    } else {
        parse_inline(input, out, limits);
    }
    // An incomplete parse must not leave half a command's args behind.
    if (out.status == ParseStatus::incomplete) out.args.clear();
}

std::optional<int64_t> parse_int64(std::string_view text) {
    if (text.empty() || text.size() > 20) return std::nullopt;
    const bool negative = text[0] == '-';
    const std::string_view digits = negative ? text.substr(1) : text;
    if (digits.empty() || (digits.size() > 1 && digits[0] == '0') || (negative && digits == "0")) return std::nullopt;
    int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

void append_simple(std::string &out, std::string_view text) {
    out += '+';
    out += text;
    out += "\r\n";
}

void append_error(std::string &out, std::string_view message) {
    const std::size_t start = out.size() + 1;
    out += '-';
    out += message;
    for (std::size_t i = start; i < out.size(); ++i)
        if (out[i] == '\r' || out[i] == '\n') out[i] = ' ';
    out += "\r\n";
}

void append_integer(std::string &out, int64_t value) {
    char buf[24];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    (void)ec; // 24 bytes always hold an int64_t
    out += ':';
    out.append(buf, end);
    out += "\r\n";
}

void append_bulk(std::string &out, std::string_view bytes) {
    char buf[24];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, bytes.size());
    (void)ec;
    out += '$';
    out.append(buf, end);
    out += "\r\n";
    out += bytes;
    out += "\r\n";
}

void append_null(std::string &out) {
    out += "$-1\r\n";
}

void append_null_array(std::string &out) {
    out += "*-1\r\n";
}

void append_double(std::string &out, double value) {
    if (std::isinf(value)) return append_bulk(out, value > 0 ? "inf" : "-inf");
    // Redis 7.0 prints scores with %.17g: exact round trips, and its replies
    // are what clients compare against.
    char buf[64];
    const int n = std::snprintf(buf, sizeof buf, "%.17g", value);
    append_bulk(out, std::string_view(buf, static_cast<std::size_t>(n)));
}

void append_array(std::string &out, std::size_t count) {
    char buf[24];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, count);
    (void)ec;
    out += '*';
    out.append(buf, end);
    out += "\r\n";
}

} // namespace portico::kv::resp
