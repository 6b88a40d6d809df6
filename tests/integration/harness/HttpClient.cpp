// HttpClient.cpp — request writing and response parsing (Content-Length or
// read to EOF; the admin server never needs chunked decoding with close).
#include "harness/HttpClient.h"

#include "harness/HarnessError.h"
#include "harness/TcpClient.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace portico::test {
namespace {

std::string lower(std::string text) {
    for (char &c : text)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

std::string trim(const std::string &text) {
    const auto begin = text.find_first_not_of(" \t\r");
    if (begin == std::string::npos) return {};
    return text.substr(begin, text.find_last_not_of(" \t\r") - begin + 1);
}

HttpResponse parse_response(const std::string &raw, const std::string &what) {
    const auto head_end = raw.find("\r\n\r\n");
    if (raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos)
        throw HarnessError("HttpClient: " + what + ": not an HTTP response: \"" + raw.substr(0, 200) + "\"");
    HttpResponse response;
    response.status = std::atoi(raw.c_str() + raw.find(' ') + 1);
    std::size_t line_start = raw.find("\r\n") + 2;
    while (line_start < head_end) {
        const std::size_t line_end = raw.find("\r\n", line_start);
        const std::string line = raw.substr(line_start, line_end - line_start);
        const auto colon = line.find(':');
        if (colon != std::string::npos) response.headers[lower(line.substr(0, colon))] = trim(line.substr(colon + 1));
        line_start = line_end + 2;
    }
    response.body = raw.substr(head_end + 4);
    const std::string length = response.header("content-length");
    if (!length.empty()) {
        const auto expected = static_cast<std::size_t>(std::stoull(length));
        if (response.body.size() < expected)
            throw HarnessError("HttpClient: " + what + ": body cut short: " + std::to_string(response.body.size()) +
                               " of " + length + " bytes");
        response.body.resize(expected);
    }
    return response;
}

} // namespace

std::string HttpResponse::header(const std::string &name) const {
    const auto found = headers.find(lower(name));
    return found == headers.end() ? std::string() : found->second;
}

HttpResponse http_request(std::uint16_t port, const HttpRequest &request, Millis timeout) {
    const std::string what = request.method + " " + request.target + " on port " + std::to_string(port);
    const Deadline deadline(timeout);
    TcpClient client(port, deadline.remaining());
    // The test's own Host header, if it brings one, replaces the default.
    const bool own_host = std::any_of(request.headers.begin(), request.headers.end(),
                                      [](const auto &header) { return lower(header.first) == "host"; });
    std::string text = request.method + " " + request.target + " HTTP/1.1\r\n" +
                       (own_host ? std::string() : "Host: 127.0.0.1:" + std::to_string(port) + "\r\n") +
                       "Connection: close\r\nContent-Length: " + std::to_string(request.body.size()) + "\r\n";
    for (const auto &[name, value] : request.headers)
        text += name + ": " + value + "\r\n";
    text += "\r\n" + request.body;
    client.send(text, deadline.remaining());
    return parse_response(client.read_until_eof(deadline.remaining()), what);
}

HttpResponse http_get(std::uint16_t port, const std::string &target, const std::string &bearer_token) {
    HttpRequest request;
    request.target = target;
    if (!bearer_token.empty()) request.headers.emplace_back("Authorization", "Bearer " + bearer_token);
    return http_request(port, request);
}

HttpResponse http_post(std::uint16_t port, const std::string &target, const std::string &bearer_token) {
    HttpRequest request;
    request.method = "POST";
    request.target = target;
    if (!bearer_token.empty()) request.headers.emplace_back("Authorization", "Bearer " + bearer_token);
    return http_request(port, request, 30s);
}

std::uint16_t free_tcp_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw HarnessError(std::string("free_tcp_port: socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0) {
        const int err = errno;
        ::close(fd);
        throw HarnessError(std::string("free_tcp_port: ") + std::strerror(err));
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

} // namespace portico::test
