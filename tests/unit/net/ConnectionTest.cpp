// ConnectionTest.cpp — the connection layer over a real socketpair, without a
// host process: the write deadline of mode threads' blocking sends, the line
// buffer (max_line, lines split across reads, a last line at half-close),
// the idle deadline of a slowloris peer, and TLS bytes already decrypted
// (which never make the socket readable again).
#include "net/Connection.h"
#include "net/Notifier.h"
#include "net/TlsContext.h"

#include "portico/portico.h"

#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/StreamSocketImpl.h>

#include <gtest/gtest.h>

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

namespace portico::host {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// One end for the Connection (as an accepted socket would be), the other a
// raw fd the test plays the peer with.
struct SocketPair {
    Poco::Net::StreamSocket host_end;
    int peer = -1;

    SocketPair() {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) throw std::runtime_error("socketpair failed");
        host_end = Poco::Net::StreamSocket(new Poco::Net::StreamSocketImpl(fds[0]));
        peer = fds[1];
    }
    ~SocketPair() { ::close(peer); }
    SocketPair(const SocketPair &) = delete;
    SocketPair &operator=(const SocketPair &) = delete;

    void send(std::string_view text) const {
        ASSERT_EQ(::send(peer, text.data(), text.size(), MSG_NOSIGNAL), static_cast<ssize_t>(text.size()));
    }
};

struct ConnectionTest : ::testing::Test {
    portico_service service{"unit", {}};
    SocketPair pair;
};

ConnectionLimits limits(std::chrono::milliseconds idle, std::size_t max_line = 64 * 1024) {
    ConnectionLimits l;
    l.read_timeout = 60s;
    l.idle_timeout = idle;
    l.max_line = max_line;
    return l;
}

std::string line_of(Connection &conn, int32_t timeout_ms = PORTICO_TIMEOUT_DEFAULT) {
    const char *line = nullptr;
    const int64_t n = conn.read_line(&line, timeout_ms);
    if (n < 0) return "error " + std::to_string(n);
    return std::string(line, static_cast<std::size_t>(n));
}

// A peer that never reads: the first blocking send fills the buffers and is
// cut short when SO_SNDTIMEO runs out, having taken part of the data; a
// limit per send() would then give the rest a whole idle_timeout again. The
// write as a whole is bounded by idle_timeout.
TEST_F(ConnectionTest, AWriteToAPeerThatNeverReadsEndsAtIdleTimeoutNotTwice) {
    const int small = 16 * 1024;
    ASSERT_EQ(::setsockopt(pair.host_end.impl()->sockfd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    ASSERT_EQ(::setsockopt(pair.peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    constexpr auto idle = 1000ms;
    portico_conn conn(pair.host_end, service, limits(idle));
    const std::string big(4 << 20, 'x');

    const auto start = Clock::now();
    EXPECT_EQ(conn.write_all(big.data(), big.size()), PORTICO_ERR_TIMEOUT);
    const auto took = Clock::now() - start;

    EXPECT_GE(took, idle - 50ms) << "cut before idle_timeout";
    // Not a speed bound: the defect took two idle_timeouts (one per send call).
    EXPECT_LT(took, idle * 3 / 2) << "the write outlived idle_timeout by far";
    EXPECT_STREQ(conn.end_reason(), "write timeout");
    EXPECT_GT(conn.bytes_out(), 0u);
    EXPECT_LT(conn.bytes_out(), big.size());
}

// A peer that reads keeps a write going that needs many sends.
TEST_F(ConnectionTest, AWriteToAReadingPeerCompletes) {
    const int small = 16 * 1024;
    ASSERT_EQ(::setsockopt(pair.host_end.impl()->sockfd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    portico_conn conn(pair.host_end, service, limits(5s));
    const std::string big(1 << 20, 'y');
    std::size_t received = 0;
    std::thread reader([&] {
        char buf[8192];
        for (ssize_t n; received < big.size() && (n = ::recv(pair.peer, buf, sizeof buf, 0)) > 0;)
            received += static_cast<std::size_t>(n);
    });
    EXPECT_EQ(conn.write_all(big.data(), big.size()), PORTICO_OK);
    reader.join();
    EXPECT_EQ(received, big.size());
    EXPECT_EQ(conn.bytes_out(), big.size());
}

TEST_F(ConnectionTest, LinesSplitAcrossReadsAndSeveralInOneReadComeOutWhole) {
    portico_conn conn(pair.host_end, service, limits(5s));
    pair.send("hel");
    std::thread later([&] {
        std::this_thread::sleep_for(50ms);
        pair.send("lo\nsecond\nthi");
        pair.send("rd\n");
    });
    EXPECT_EQ(line_of(conn), "hello\n");
    EXPECT_EQ(line_of(conn), "second\n");
    EXPECT_EQ(line_of(conn), "third\n");
    later.join();
    EXPECT_EQ(conn.bytes_in(), 19u);
}

TEST_F(ConnectionTest, ALineLongerThanMaxLineIsAnErrorWithoutWaitingForItsEnd) {
    portico_conn conn(pair.host_end, service, limits(5s, 16));
    pair.send("short\n");
    EXPECT_EQ(line_of(conn), "short\n");
    pair.send(std::string(40, 'z')); // no newline: the host must not wait for one
    EXPECT_EQ(line_of(conn, 2000), "error " + std::to_string(PORTICO_ERR_TOO_LONG));
}

TEST_F(ConnectionTest, HalfCloseEndsWithTheLastLineThenEndOfStream) {
    portico_conn conn(pair.host_end, service, limits(5s));
    pair.send("one\nlast without newline");
    ASSERT_EQ(::shutdown(pair.peer, SHUT_WR), 0);
    EXPECT_EQ(line_of(conn), "one\n");
    EXPECT_EQ(line_of(conn), "last without newline");
    EXPECT_EQ(line_of(conn), "");
    // The peer only closed its sending side: a reply still reaches it.
    EXPECT_EQ(conn.write_all("bye\n", 4), PORTICO_OK);
    char buf[8] = {};
    EXPECT_EQ(::recv(pair.peer, buf, sizeof buf, 0), 4);
    EXPECT_STREQ(buf, "bye\n");
}

// Bytes without a newline are no progress to a line reader: a peer
// dribbling them is cut at idle_timeout all the same.
TEST_F(ConnectionTest, ASlowlorisPeerIsCutAtIdleTimeout) {
    constexpr auto idle = 600ms;
    portico_conn conn(pair.host_end, service, limits(idle));
    std::atomic<bool> done{false};
    std::thread dribble([&] {
        while (!done) {
            if (::send(pair.peer, "x", 1, MSG_NOSIGNAL) != 1) return;
            std::this_thread::sleep_for(100ms);
        }
    });
    const auto start = Clock::now();
    EXPECT_EQ(line_of(conn, PORTICO_TIMEOUT_INFINITE), "error " + std::to_string(PORTICO_ERR_TIMEOUT));
    const auto took = Clock::now() - start;
    done = true;
    dribble.join();
    EXPECT_GE(took, idle - 50ms);
    EXPECT_STREQ(conn.end_reason(), "idle timeout");
}

TEST_F(ConnectionTest, ReadTimeoutLeavesTheConnectionUsable) {
    portico_conn conn(pair.host_end, service, limits(5s));
    char buf[16];
    EXPECT_EQ(conn.read(buf, sizeof buf, 100), PORTICO_ERR_TIMEOUT);
    EXPECT_EQ(conn.end_reason(), nullptr);
    pair.send("late\n");
    EXPECT_EQ(line_of(conn), "late\n");
}

TEST_F(ConnectionTest, ForceCloseWakesABlockedReadWithStopping) {
    portico_conn conn(pair.host_end, service, limits(5s));
    std::thread closer([&] {
        std::this_thread::sleep_for(100ms);
        conn.force_close();
    });
    EXPECT_EQ(line_of(conn, PORTICO_TIMEOUT_INFINITE), "error " + std::to_string(PORTICO_ERR_STOPPING));
    closer.join();
    EXPECT_TRUE(conn.forced());
}

// A self-signed certificate made by the openssl command in a folder of its own.
struct SelfSigned {
    std::filesystem::path dir;
    TlsConfig config;

    SelfSigned() {
        char name[] = "/tmp/portico-unit-tls-XXXXXX";
        if (::mkdtemp(name) == nullptr) throw std::runtime_error("mkdtemp failed");
        dir = name;
        config.cert = dir / "cert.pem";
        config.key = dir / "key.pem";
        const std::string command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                                    "-subj /CN=unit -days 2 -keyout " +
                                    config.key.string() + " -out " + config.cert.string() + " >/dev/null 2>&1";
        if (std::system(command.c_str()) != 0) throw std::runtime_error("openssl req failed: " + command);
    }
    ~SelfSigned() { std::filesystem::remove_all(dir); }
};

// One TLS record holds a whole line; reading it a byte at a time leaves the
// rest decrypted inside OpenSSL, where poll() cannot see it. Each read must
// take the next byte at once instead of waiting on the socket (and timing
// out, as nothing more arrives).
TEST_F(ConnectionTest, TlsBytesAlreadyDecryptedAreReadWithoutWaitingOnTheSocket) {
    const SelfSigned certificate;
    portico_conn conn(pair.host_end, service, limits(5s), TlsContext::load(certificate.config));
    const std::string sent = "one record\n";
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    std::string client_error;
    std::thread client([&] {
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
        SSL *ssl = SSL_new(ctx);
        SSL_set_fd(ssl, pair.peer);
        if (SSL_connect(ssl) != 1)
            client_error = "handshake failed";
        else if (SSL_write(ssl, sent.data(), static_cast<int>(sent.size())) != static_cast<int>(sent.size()))
            client_error = "write failed";
        // Stays connected, sending nothing more, until the reads are done.
        std::unique_lock lock(mutex);
        done_cv.wait(lock, [&] { return done; });
        SSL_free(ssl);
        SSL_CTX_free(ctx);
    });
    std::string error;
    ASSERT_EQ(conn.handshake(error), PORTICO_OK) << error;
    std::string got;
    for (std::size_t i = 0; i < sent.size(); ++i) {
        char byte = 0;
        const int64_t n = conn.read(&byte, 1, 300);
        if (n != 1) {
            got += "<read returned " + std::to_string(n) + ">";
            break;
        }
        got += byte;
    }
    {
        std::lock_guard lock(mutex);
        done = true;
    }
    done_cv.notify_all();
    client.join();
    EXPECT_EQ(client_error, "");
    EXPECT_EQ(got, sent);
}

// Wake-ups: TLS bytes OpenSSL decrypted earlier never make the socket
// readable again, yet they count as readable for wait_readable_or.
TEST_F(ConnectionTest, TlsBytesAlreadyDecryptedCountAsReadableForAWaitOnANotifier) {
    const SelfSigned certificate;
    portico_conn conn(pair.host_end, service, limits(5s), TlsContext::load(certificate.config));
    const std::string sent = "one record\n";
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    std::string client_error;
    std::thread client([&] {
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
        SSL *ssl = SSL_new(ctx);
        SSL_set_fd(ssl, pair.peer);
        if (SSL_connect(ssl) != 1)
            client_error = "handshake failed";
        else if (SSL_write(ssl, sent.data(), static_cast<int>(sent.size())) != static_cast<int>(sent.size()))
            client_error = "write failed";
        std::unique_lock lock(mutex);
        done_cv.wait(lock, [&] { return done; });
        SSL_free(ssl);
        SSL_CTX_free(ctx);
    });
    Notifier *bell = Notifier::create();
    std::string error;
    ASSERT_EQ(conn.handshake(error), PORTICO_OK) << error;
    char first = 0;
    ASSERT_EQ(conn.read(&first, 1, 2000), 1); // the rest of the record stays inside OpenSSL
    const int readable = conn.wait_readable_or(bell, 2000);
    const char *line = nullptr;
    const int64_t n = conn.read_line(&line, 300);
    const std::string rest = n > 0 ? std::string(line, static_cast<std::size_t>(n)) : "<" + std::to_string(n) + ">";
    bell->signal();
    const int notified = conn.wait_readable_or(bell, 2000);
    const int timed_out = conn.wait_readable_or(bell, 50);
    bell->destroy();
    {
        std::lock_guard lock(mutex);
        done = true;
    }
    done_cv.notify_all();
    client.join();
    EXPECT_EQ(client_error, "");
    EXPECT_EQ(readable, PORTICO_WAIT_READABLE);
    EXPECT_EQ(std::string(1, first) + rest, sent);
    EXPECT_EQ(notified, PORTICO_WAIT_NOTIFIED);
    EXPECT_EQ(timed_out, PORTICO_ERR_TIMEOUT);
}

} // namespace
} // namespace portico::host
