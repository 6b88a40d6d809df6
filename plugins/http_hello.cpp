// http_hello — a minimal HTTP/1.1 responder with keep-alive: GET or HEAD /
// answers 200 with a short body, other paths 404, other methods 405; a
// request it cannot parse gets 400 and the connection is closed.
//
// Settings (`config:` of the service):
//   body               the response body (default "Hello, world!\n")
//   keepalive_timeout_ms  how long an idle keep-alive connection is kept (default 15000)
#include <portico/portico.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace {

constexpr std::size_t max_headers = 100;
constexpr auto poll_interval = std::chrono::milliseconds(250);

struct Request {
    std::string method;
    std::string target;
    int minor_version = 1; // HTTP/1.<minor>
    bool keep_alive = true;
    bool has_host = false;
    std::optional<uint64_t> content_length;
    bool chunked = false;
    bool expect_continue = false; // Expect: 100-continue
};

// Thrown for a request we cannot make sense of: answered, then closed.
struct BadRequest {
    int status;
    const char *reason;
};

bool is_token(std::string_view text) {
    if (text.empty()) return false;
    return std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    });
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n'))
        text.remove_suffix(1);
    return text;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// True when the comma-separated header value lists `token`.
bool lists_token(std::string_view value, std::string_view token) {
    while (!value.empty()) {
        const std::size_t comma = value.find(',');
        if (iequals(trim(value.substr(0, comma)), token)) return true;
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return false;
}

void parse_request_line(std::string_view line, Request &req) {
    line = trim(line);
    const std::size_t sp1 = line.find(' ');
    const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        throw BadRequest{400, "Bad Request"};
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!is_token(method) || target.empty() || version.size() != 8 || version.substr(0, 5) != "HTTP/" ||
        version[6] != '.' || version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
        throw BadRequest{400, "Bad Request"};
    if (version[5] != '1') throw BadRequest{505, "HTTP Version Not Supported"};
    if (target.front() != '/' && target != "*" && target.substr(0, 7) != "http://" && target.substr(0, 8) != "https://")
        throw BadRequest{400, "Bad Request"};
    req.method = method;
    req.target = target;
    req.minor_version = version[7] - '0';
    req.keep_alive = req.minor_version >= 1;
}

void parse_header(std::string_view line, Request &req) {
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) throw BadRequest{400, "Bad Request"};
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "host")) {
        if (req.has_host) throw BadRequest{400, "Bad Request"};
        req.has_host = true;
    } else if (iequals(name, "connection")) {
        if (lists_token(value, "close"))
            req.keep_alive = false;
        else if (lists_token(value, "keep-alive"))
            req.keep_alive = true;
    } else if (iequals(name, "content-length")) {
        if (value.empty() || value.size() > 18 ||
            !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
            throw BadRequest{400, "Bad Request"};
        const uint64_t n = std::stoull(std::string(value));
        if (req.content_length && *req.content_length != n) throw BadRequest{400, "Bad Request"};
        req.content_length = n;
    } else if (iequals(name, "transfer-encoding")) {
        req.chunked = true;
    } else if (iequals(name, "expect")) {
        req.expect_continue = iequals(value, "100-continue");
    }
}

std::string http_date() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[64];
    const std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return std::string(buf, n);
}

std::string response(int status, std::string_view reason, std::string_view body, bool head, bool keep_alive,
                     std::string_view extra_headers = {}) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
    out += "Date: " + http_date() + "\r\n";
    out += "Server: portico-http_hello\r\n";
    out += "Content-Type: text/plain; charset=utf-8\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    out += extra_headers;
    if (!keep_alive) out += "Connection: close\r\n";
    out += "\r\n";
    if (!head) out += body;
    return out;
}

class HttpHello : public portico::StreamHandler {
public:
    // Nothing else touches this connection's stack (docs/sdk.md).
    static constexpr bool stack_private = true;

private:
    void setup() override {
        body_ = context().config("body", "Hello, world!\n");
        const auto timeout = context().config("keepalive_timeout_ms");
        if (timeout) keepalive_ = std::chrono::milliseconds(std::max(1LL, std::atoll(timeout->c_str())));
    }

    void handle() override {
        for (;;) {
            Request req;
            try {
                if (!read_request(req)) return;
            } catch (const BadRequest &bad) {
                const std::string body = std::to_string(bad.status) + " " + bad.reason + "\n";
                stream().write_all(response(bad.status, bad.reason, body, false, false));
                return;
            }
            // A body we do not read would be taken for the next request.
            const bool can_continue = req.keep_alive && !req.chunked && discard_body(req);
            const bool head = req.method == "HEAD";
            const std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
            if (req.method != "GET" && !head) {
                stream().write_all(response(405, "Method Not Allowed", "405 Method Not Allowed\n", false, can_continue,
                                            "Allow: GET, HEAD\r\n"));
            } else if (path != "/" && path.find("://") == std::string_view::npos) {
                stream().write_all(response(404, "Not Found", "404 Not Found\n", head, can_continue));
            } else {
                stream().write_all(response(200, "OK", body_, head, can_continue));
            }
            if (!can_continue) return;
        }
    }

    // Reads the request line and headers. False when the client closed (or
    // went idle, or the host is stopping) before a request began.
    bool read_request(Request &req) {
        std::optional<std::string_view> line;
        do { // RFC 9112 2.2: ignore empty lines before a request line
            line = next_line(true);
            if (!line) return false;
        } while (trim(*line).empty());
        parse_request_line(*line, req);
        for (std::size_t count = 0;; ++count) {
            line = next_line(false);
            if (!line) throw BadRequest{400, "Bad Request"};
            if (trim(*line).empty()) break;
            if (count == max_headers || line->front() == ' ' || line->front() == '\t')
                throw BadRequest{400, "Bad Request"}; // too many, or obsolete line folding
            parse_header(*line, req);
        }
        if (req.minor_version >= 1 && !req.has_host) throw BadRequest{400, "Bad Request"};
        return true;
    }

    // One line; nullopt at end of stream, or — between requests only — when
    // the keep-alive time is up or the host is stopping.
    std::optional<std::string_view> next_line(bool between_requests) {
        const auto deadline = std::chrono::steady_clock::now() + keepalive_;
        for (;;) {
            try {
                return stream().read_line(poll_interval);
            } catch (const portico::IoError &e) {
                if (e.status() == PORTICO_ERR_TOO_LONG) throw BadRequest{431, "Request Header Fields Too Large"};
                if (e.status() != PORTICO_ERR_TIMEOUT) throw;
                if (std::chrono::steady_clock::now() >= deadline) {
                    if (between_requests) return std::nullopt;
                    throw BadRequest{408, "Request Timeout"};
                }
                if (between_requests && stream().stopping()) return std::nullopt;
            }
        }
    }

    // Reads and drops the request body; false if it is too big to bother.
    // A client that asked "Expect: 100-continue" waits for the interim
    // answer before sending the body (curl: one second), so it gets one.
    bool discard_body(const Request &req) {
        uint64_t left = req.content_length.value_or(0);
        if (left > 1024 * 1024) return false;
        if (left > 0 && req.expect_continue && req.minor_version >= 1)
            stream().write_all("HTTP/1.1 100 Continue\r\n\r\n");
        char buf[16 * 1024];
        while (left > 0) {
            const std::size_t n =
                stream().read(buf, static_cast<std::size_t>(std::min<uint64_t>(left, sizeof buf)), keepalive_);
            if (n == 0) return false;
            left -= n;
        }
        return true;
    }

    std::string body_;
    std::chrono::milliseconds keepalive_{15000};
};

} // namespace

PORTICO_PLUGIN("http_hello", "1.0.0", reg) {
    reg.stream<HttpHello>("http_hello");
}
