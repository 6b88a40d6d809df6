// TcpClient.h — a blocking-style TCP client for tests in which every call
// has a deadline: a server that stays silent makes the test fail with a
// message saying what was awaited and what had arrived, never hang.
#pragma once

#include "harness/Deadline.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico::test {

class TcpClient {
public:
    static constexpr Millis kTimeout = 5s;

    // Connects to host:port; throws HarnessError on refusal, error or timeout.
    explicit TcpClient(std::uint16_t port, Millis timeout = kTimeout, const std::string &host = "127.0.0.1");
    ~TcpClient();
    TcpClient(TcpClient &&other) noexcept;
    TcpClient &operator=(TcpClient &&other) noexcept;
    TcpClient(const TcpClient &) = delete;
    TcpClient &operator=(const TcpClient &) = delete;

    // One connection attempt that is closed at once: 0 if it connected, else
    // the errno (ECONNREFUSED, ETIMEDOUT for the timeout, …).
    static int probe_connect(std::uint16_t port, Millis timeout = 1s, const std::string &host = "127.0.0.1");
    // Takes over a connected socket made elsewhere (from a chosen source
    // address, IPv6, unix: see Sockets.h); it is made non-blocking.
    // `port` only names the peer in messages.
    static TcpClient adopt(int fd, std::uint16_t port);

    // Writes all of `data`; throws if the peer is gone or it does not drain in time.
    void send(std::string_view data, Millis timeout = kTimeout);
    // The next line including its '\n'. At EOF: the unterminated rest if
    // there is one, else nullopt. Throws on timeout or reset.
    std::optional<std::string> read_line(Millis timeout = kTimeout);
    // Everything up to the peer's FIN. Throws on timeout or reset.
    std::string read_until_eof(Millis timeout = kTimeout);
    // Everything until the peer closes, by FIN or by RST; nullopt if it is
    // still open when the timeout passes.
    std::optional<std::string> read_until_closed(Millis timeout = kTimeout);
    // Sends `payload` while reading the replies (so neither side's buffers
    // can deadlock), half-closes, and returns everything up to EOF.
    std::string round_trip(std::string_view payload, Millis timeout = kTimeout);

    // shutdown(SHUT_WR): the peer reads EOF; we can still read.
    void shutdown_write();
    void close();
    bool is_open() const { return fd_ >= 0; }

    std::uint16_t local_port() const;
    std::uint16_t remote_port() const { return port_; }

private:
    TcpClient() = default;
    enum class ReadResult { data, eof, reset, timeout };
    // One recv() into buffer_ once the socket is readable before `deadline`.
    ReadResult fill(const Deadline &deadline);
    int require_fd(const char *what) const;

    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::string buffer_; // received, not yet returned
};

// One request on a fresh connection: `line` and "\n" sent, the reply line
// returned, or "" if none came within 2 s (refused, reset, closed, silent).
std::string ask(std::uint16_t port, const std::string &line);

} // namespace portico::test
