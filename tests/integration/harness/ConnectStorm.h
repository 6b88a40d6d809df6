// ConnectStorm.h — many connection attempts, a bounded number in flight at
// once, each ending in an outcome within its own deadline: served (the
// probe's reply came back; the socket is kept open), refused (the host
// closed it, after saying whatever it said), failed to connect, or hung.
//
//   StormResult r = connect_storm({.port = port, .attempts = 2000});
//   EXPECT_EQ(r.hung, 0);
#pragma once

#include "harness/Deadline.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace portico::test {

struct StormOptions {
    std::uint16_t port = 0;
    int attempts = 0;
    int in_flight = 200;           // attempts started and not yet ended, at most
    std::string probe = "ping\n";  // sent as soon as the connection is up
    std::string reply = "PING\n";  // what a served attempt receives
    std::string reply_suffix = {}; // when set: served once what came ends with this (an HTTP reply's Date varies)
    std::string source = {};       // when set: the IPv4 address each attempt connects from
    Millis attempt_timeout = 5s;   // from connect() to an outcome
};

// Sockets of served attempts, held open until the object goes away.
class HeldSockets {
public:
    HeldSockets() = default;
    ~HeldSockets() { close_all(); }
    HeldSockets(HeldSockets &&other) noexcept : fds_(std::move(other.fds_)) { other.fds_.clear(); }
    HeldSockets &operator=(HeldSockets &&other) noexcept;
    HeldSockets(const HeldSockets &) = delete;
    HeldSockets &operator=(const HeldSockets &) = delete;

    void add(int fd) { fds_.push_back(fd); }
    std::size_t size() const { return fds_.size(); }
    // The most recently added socket, handed over to the caller (-1 when none is left).
    int take_one() {
        if (fds_.empty()) return -1;
        const int fd = fds_.back();
        fds_.pop_back();
        return fd;
    }
    void close_all();

private:
    std::vector<int> fds_;
};

struct StormResult {
    int served = 0;
    int refused = 0; // closed by the host before the reply came
    int connect_failed = 0;
    int hung = 0;                              // no outcome within attempt_timeout
    std::map<std::string, int> refused_saying; // what refused attempts received before the close → how many
    std::string first_failure;                 // the first connect error or hang, described
    Millis slowest{0};                         // the longest attempt, whatever its outcome
    HeldSockets held;                          // the served attempts' sockets
};

StormResult connect_storm(const StormOptions &options);

} // namespace portico::test
