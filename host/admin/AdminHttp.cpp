// AdminHttp.cpp — request-head parsing and response writing for the admin
// server. Strict where leniency would let a client smuggle or hang a request.
#include "admin/AdminHttp.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace portico::host {
namespace {

bool is_token_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), is_token_char);
}

bool is_target_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
}

bool has_control_chars(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && c != '\t') || u == 0x7f;
    });
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char &c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

HttpParseResult error(int status, std::string reason) {
    HttpParseResult result;
    result.kind = HttpParseResult::Kind::error;
    result.status = status;
    result.reason = std::move(reason);
    return result;
}

std::optional<HttpParseResult> parse_request_line(std::string_view line, HttpRequestHead &head) {
    const auto first = line.find(' ');
    const auto second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos)
        return error(400, "bad request line: expected 'METHOD /path HTTP/1.1'");
    const std::string_view method = line.substr(0, first);
    const std::string_view target = line.substr(first + 1, second - first - 1);
    const std::string_view version = line.substr(second + 1);
    if (!is_token(method)) return error(400, "bad request line: the method is not an HTTP token");
    if (target.empty() || target.front() != '/' || !std::all_of(target.begin(), target.end(), is_target_char))
        return error(400, "bad request target: expected an absolute path such as /status");
    if (version != "HTTP/1.1" && version != "HTTP/1.0")
        return error(505, "unsupported HTTP version: the admin server speaks HTTP/1.0 and HTTP/1.1");
    head.method = std::string(method);
    head.target = std::string(target);
    head.minor_version = version.back() - '0';
    return std::nullopt;
}

std::optional<HttpParseResult> parse_header_line(std::string_view line, HttpRequestHead &head) {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon)))
        return error(400, "bad header line: expected 'Name: value'");
    const std::string_view value = trim(line.substr(colon + 1));
    if (has_control_chars(value)) return error(400, "bad header value: control characters are not allowed");
    std::string name = lower(line.substr(0, colon));
    if (name == "transfer-encoding")
        return error(501, "Transfer-Encoding is not supported by the admin server: send Content-Length");
    if (name == "content-length") {
        std::size_t length = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
        if (ec != std::errc() || end != value.data() + value.size() || value.empty())
            return error(400, "bad Content-Length: expected a decimal number");
        if (head.header("content-length") && head.content_length != length)
            return error(400, "conflicting Content-Length headers");
        if (length > kAdminMaxBodyBytes)
            return error(413, "request body too large: the admin endpoints take no body (limit " +
                                  std::to_string(kAdminMaxBodyBytes) + " bytes)");
        head.content_length = length;
    }
    head.headers.emplace_back(std::move(name), std::string(value));
    return std::nullopt;
}

} // namespace

std::optional<std::string> HttpRequestHead::header(std::string_view name) const {
    for (const auto &[key, value] : headers)
        if (key == name) return value;
    return std::nullopt;
}

HttpParseResult parse_http_request_head(std::string_view buffer) {
    // Tolerate the empty lines some clients send between requests (RFC 9112 2.2).
    std::size_t start = 0;
    while (buffer.substr(start, 2) == "\r\n")
        start += 2;
    const std::size_t end = buffer.find("\r\n\r\n", start);
    if (end == std::string_view::npos) {
        if (buffer.size() > kAdminMaxHeadBytes)
            return error(431, "request head too large (limit " + std::to_string(kAdminMaxHeadBytes) + " bytes)");
        // Reject a bad request line before the whole head arrives.
        const std::size_t line_end = buffer.find("\r\n", start);
        if (line_end != std::string_view::npos) {
            HttpRequestHead scratch;
            if (auto bad = parse_request_line(buffer.substr(start, line_end - start), scratch)) return *bad;
        }
        return {};
    }
    if (end + 4 > kAdminMaxHeadBytes)
        return error(431, "request head too large (limit " + std::to_string(kAdminMaxHeadBytes) + " bytes)");

    HttpParseResult result;
    const std::string_view text = buffer.substr(start, end - start);
    std::size_t line_start = 0;
    bool first = true;
    while (line_start <= text.size()) {
        std::size_t line_end = text.find("\r\n", line_start);
        if (line_end == std::string_view::npos) line_end = text.size();
        const std::string_view line = text.substr(line_start, line_end - line_start);
        if (line.find('\n') != std::string_view::npos || line.find('\r') != std::string_view::npos)
            return error(400, "bad line ending: lines end with CRLF");
        if (first) {
            if (auto bad = parse_request_line(line, result.head)) return *bad;
            first = false;
        } else if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
            return error(400, "folded header lines are not allowed");
        } else if (auto bad = parse_header_line(line, result.head)) {
            return *bad;
        }
        line_start = line_end + 2;
    }
    result.kind = HttpParseResult::Kind::complete;
    result.head_size = end + 4;
    return result;
}

std::string_view http_reason_phrase(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 421:
        return "Misdirected Request";
    case 422:
        return "Unprocessable Content";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

std::string http_response_bytes(int status, const std::vector<std::pair<std::string, std::string>> &headers,
                                const std::string &body, bool head_only) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(http_reason_phrase(status)) + "\r\n";
    for (const auto &[name, value] : headers)
        out += name + ": " + value + "\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    if (!head_only) out += body;
    return out;
}

std::string printable_excerpt(std::string_view text, std::size_t limit) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        if (out.size() >= limit) {
            out += "...";
            break;
        }
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f && c != '%') {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 0xf];
        }
    }
    return out;
}

} // namespace portico::host
