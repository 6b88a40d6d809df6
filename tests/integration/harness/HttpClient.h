// HttpClient.h — one HTTP/1.1 request per connection over TcpClient, for
// the admin tests: plain POSIX sockets, every call bounded by a deadline.
#pragma once

#include "harness/Deadline.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace portico::test {

struct HttpResponse {
    int status = 0;
    std::map<std::string, std::string> headers; // names lower-cased
    std::string body;
    std::string header(const std::string &name) const;
};

struct HttpRequest {
    std::string method = "GET";
    std::string target = "/";
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

// Sends `request` to 127.0.0.1:port with "Connection: close" (and "Host:
// 127.0.0.1:port" unless request.headers has a Host) and reads the
// whole response. Throws HarnessError on a connection failure, a timeout or
// a response that is not HTTP.
HttpResponse http_request(std::uint16_t port, const HttpRequest &request, Millis timeout = 10s);
HttpResponse http_get(std::uint16_t port, const std::string &target, const std::string &bearer_token = {});
HttpResponse http_post(std::uint16_t port, const std::string &target, const std::string &bearer_token = {});

// A TCP port that was free a moment ago (bound to :0 and released), for
// configs that must name the port before the host starts.
std::uint16_t free_tcp_port();

} // namespace portico::test
