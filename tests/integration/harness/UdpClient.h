// UdpClient.h — a UDP socket for tests, connected to one service so that
// only that service's datagrams reach it. Every receive has a deadline: a
// datagram that never comes is an empty optional, never a hung test.
#pragma once

#include "harness/Deadline.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico::test {

class UdpClient {
  public:
    static constexpr Millis kTimeout = 5s;

    // Connects to host:port (an IPv4 or IPv6 literal); throws HarnessError.
    explicit UdpClient(std::uint16_t port, const std::string &host = "127.0.0.1");
    ~UdpClient();
    UdpClient(UdpClient &&other) noexcept;
    UdpClient &operator=(UdpClient &&other) noexcept;
    UdpClient(const UdpClient &) = delete;
    UdpClient &operator=(const UdpClient &) = delete;

    // Sends one datagram; throws HarnessError if the kernel refuses it.
    void send(std::string_view data);
    // The next datagram, or nullopt when none arrives in time.
    std::optional<std::string> receive(Millis timeout = kTimeout);
    // The next datagram if one is already queued, without waiting.
    std::optional<std::string> try_receive() { return receive(Millis(0)); }
    // send() then receive(); throws HarnessError naming the request on timeout.
    std::string request(std::string_view data, Millis timeout = kTimeout);

    std::uint16_t local_port() const;
    int fd() const { return fd_; }

  private:
    int fd_ = -1;
    std::string target_; // "host:port", for messages
};

} // namespace portico::test
