// ProxyHeaderReadTest.cpp — read_proxy_header on a real socket pair: it takes
// exactly the header's bytes (the client's first bytes stay for the session),
// waits for a header that comes in pieces, and reports a late, cut-short,
// invalid or oversized one without taking anything it should not.
#include "net/ProxyHeaderRead.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

using namespace portico::host;
using namespace std::chrono_literals;

namespace {

class Pair {
public:
    Pair() {
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds_) != 0) fds_[0] = fds_[1] = -1;
    }
    ~Pair() {
        for (const int fd : fds_)
            if (fd >= 0) ::close(fd);
    }
    Pair(const Pair &) = delete;
    Pair &operator=(const Pair &) = delete;
    int server() const { return fds_[0]; }
    void send(const std::string &bytes) const {
        ASSERT_EQ(::send(fds_[1], bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
    }
    void close_client() {
        ::close(fds_[1]);
        fds_[1] = -1;
    }
    // What is left in the socket for the session to read.
    std::string rest() const {
        char buf[256];
        const ssize_t n = ::recv(fds_[0], buf, sizeof buf, MSG_DONTWAIT);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    }

private:
    int fds_[2];
};

ProxyRead read(const Pair &pair, std::chrono::milliseconds timeout = 2s, ProxyOptions options = {}) {
    PollWait wait(pair.server());
    return read_proxy_header(pair.server(), wait, options, IoWait::Clock::now() + timeout);
}

const std::string kV1 = "PROXY TCP4 203.0.113.7 127.0.0.1 41000 9000\r\n";

TEST(ProxyHeaderRead, TakesTheHeaderAndLeavesTheClientsBytes) {
    Pair pair;
    pair.send(kV1 + "hello\n");
    const ProxyRead result = read(pair);
    ASSERT_EQ(result.status, ProxyRead::Status::complete) << result.error;
    EXPECT_EQ(result.header.source->toString(), "203.0.113.7:41000");
    EXPECT_EQ(pair.rest(), "hello\n");
}

TEST(ProxyHeaderRead, WaitsForAHeaderInPieces) {
    Pair pair;
    pair.send(kV1.substr(0, 10));
    std::thread later([&] {
        std::this_thread::sleep_for(50ms);
        pair.send(kV1.substr(10, 20));
        std::this_thread::sleep_for(50ms);
        pair.send(kV1.substr(30) + "\x16\x03\x01");
    });
    const ProxyRead result = read(pair);
    later.join();
    ASSERT_EQ(result.status, ProxyRead::Status::complete) << result.error;
    EXPECT_EQ(result.header.destination->toString(), "127.0.0.1:9000");
    EXPECT_EQ(pair.rest(), "\x16\x03\x01") << "a TLS handshake after the header must stay unread";
}

TEST(ProxyHeaderRead, ALateHeaderTimesOut) {
    Pair pair;
    pair.send(kV1.substr(0, 5));
    const ProxyRead result = read(pair, 100ms);
    EXPECT_EQ(result.status, ProxyRead::Status::timeout);
    EXPECT_NE(result.error.find("proxy_timeout (5 bytes came)"), std::string::npos) << result.error;
}

TEST(ProxyHeaderRead, AHeaderCutShortIsClosed) {
    Pair pair;
    pair.send(kV1.substr(0, 12));
    pair.close_client();
    const ProxyRead result = read(pair);
    EXPECT_EQ(result.status, ProxyRead::Status::closed);
    EXPECT_NE(result.error.find("after 12 bytes"), std::string::npos) << result.error;
}

TEST(ProxyHeaderRead, GarbageAndOversizedHeadersAreInvalid) {
    Pair garbage;
    garbage.send("GET / HTTP/1.1\r\n");
    EXPECT_EQ(read(garbage).status, ProxyRead::Status::invalid);

    Pair oversized;
    std::string v2("\r\n\r\n\0\r\nQUIT\n\x21\x11\x20\x00", 16); // length 0x2000: 8 KiB
    oversized.send(v2);
    const ProxyRead result = read(oversized);
    EXPECT_EQ(result.status, ProxyRead::Status::invalid);
    EXPECT_NE(result.error.find("exceeds the limit"), std::string::npos) << result.error;

    Pair v2_only;
    v2_only.send(kV1);
    ProxyOptions options;
    options.versions = ProxyVersions::v2;
    EXPECT_EQ(read(v2_only, 2s, options).status, ProxyRead::Status::invalid);
}

} // namespace
