// UnixDatagramClient.h — what a client of a unix: datagram service does, as
// with socketserver's UnixDatagramServer: a SOCK_DGRAM socket bound to a path
// of its own (or, to show the edge, to none), sending to the service's path.
// Every receive has a deadline.
#pragma once

#include "harness/Deadline.h"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace portico::test {

class UnixDatagramClient {
public:
    static constexpr Millis kTimeout = 5s;

    // Binds to `own_path` (empty: stays unbound, so no reply can reach it)
    // and sends to `server_path`. Throws HarnessError.
    UnixDatagramClient(std::filesystem::path server_path, std::filesystem::path own_path);
    ~UnixDatagramClient();
    UnixDatagramClient(const UnixDatagramClient &) = delete;
    UnixDatagramClient &operator=(const UnixDatagramClient &) = delete;

    // Sends one datagram to the server; throws HarnessError if refused.
    void send(std::string_view data);
    // The next datagram, or nullopt when none arrives in time.
    std::optional<std::string> receive(Millis timeout = kTimeout);
    // send() then receive(); throws HarnessError naming the request on timeout.
    std::string request(std::string_view data, Millis timeout = kTimeout);

private:
    int fd_ = -1;
    std::filesystem::path server_path_;
    std::filesystem::path own_path_;
};

} // namespace portico::test
