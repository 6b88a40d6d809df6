// AdminHttp.h — the admin server's HTTP/1.x wire format: an incremental,
// bounded request-head parser and the response writer (with the status's own
// reason phrase). No sockets here, so every rule can be unit-tested.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::host {

// Larger heads are refused with 431: an admin request is a line and a few headers.
inline constexpr std::size_t kAdminMaxHeadBytes = 16 * 1024;
// Larger bodies are refused with 413: no admin endpoint reads a body.
inline constexpr std::size_t kAdminMaxBodyBytes = 64 * 1024;

struct HttpRequestHead {
    std::string method;
    std::string target; // as sent: path and query, percent-encoded
    int minor_version = 1;
    std::vector<std::pair<std::string, std::string>> headers; // names lower-cased, values trimmed
    std::size_t content_length = 0;
    // The first value of `name` (lower-case), or nullopt.
    std::optional<std::string> header(std::string_view name) const;
};

struct HttpParseResult {
    enum class Kind { incomplete, complete, error } kind = Kind::incomplete;
    HttpRequestHead head;      // complete
    std::size_t head_size = 0; // complete: bytes up to and including the blank line
    int status = 0;            // error: the status to answer with
    std::string reason;        // error: why, safe to send back (never echoes raw input)
};

// Parses the request head at the start of `buffer`. Incomplete until the
// blank line arrives; an error as soon as the bytes so far cannot become a
// valid head (bad request line, bad header, too large, chunked body).
HttpParseResult parse_http_request_head(std::string_view buffer);

// "Not Found" for 404 and so on; "Unknown" for a status without one.
std::string_view http_reason_phrase(int status);

// Status line, the headers given, Content-Length and "Connection: close",
// then the body unless `head_only` (a HEAD request).
std::string http_response_bytes(int status, const std::vector<std::pair<std::string, std::string>> &headers,
                                const std::string &body, bool head_only);

// `text` with every byte outside printable ASCII as %XX and cut to `limit`
// bytes ("..." appended): for echoing client-supplied text in an answer or log.
std::string printable_excerpt(std::string_view text, std::size_t limit = 200);

} // namespace portico::host
