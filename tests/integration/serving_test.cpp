// serving_test.cpp — the walking skeleton from a user's chair: start portico
// with the shipped plugins, connect, send, get the answer back; line
// splitting and a mebibyte echo in both modes.
#include "harness/ConfigBuilder.h"
#include "harness/Modes.h"
#include "harness/PorticoProcess.h"
#include "harness/ShippedHost.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"
#include "harness/Text.h"
#include "harness/Threadname.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

namespace portico::test {
namespace {

// The tests below run in mode threads and mode events alike
// (Modes/Serving.*/threads and …/events); the plain TESTs use the default
// mode, threads. What only mode events does is in events_serving_test.cpp.
class Serving : public ::testing::TestWithParam<std::string> {};

// Seed 000: the first thing anyone tries.
TEST(Serving, UpperAnswersAGreetingUpperCased) {
    TempDir dir;
    auto host = start_shipped(dir, [](ConfigBuilder &c) { c.service("upper", "upper.upper"); });
    ASSERT_TRUE(host->wait_ready());

    TcpClient client(host->port("upper"));
    client.send("Hello, Server!\n");
    EXPECT_EQ(client.read_line(), "HELLO, SERVER!\n");
    client.shutdown_write();
    EXPECT_EQ(client.read_until_eof(), "") << "upper should close the connection after the client's EOF";
}

TEST(Serving, EchoReturnsBinaryBytesIncludingNul) {
    TempDir dir;
    auto host = start_shipped(dir, [](ConfigBuilder &c) { c.service("echo", "echo.echo"); });
    ASSERT_TRUE(host->wait_ready());

    std::string payload;
    for (int round = 0; round < 4; ++round)
        for (int byte = 0; byte < 256; ++byte)
            payload += static_cast<char>(byte);
    ASSERT_EQ(payload[0], '\0');

    TcpClient client(host->port("echo"));
    const std::string back = client.round_trip(payload);
    EXPECT_EQ(back.size(), payload.size());
    EXPECT_TRUE(back == payload) << "echoed bytes differ from the bytes sent";
}

// `mode:` alone, each mode's defaults otherwise (for events: loops and
// fiber stack).
TEST_P(Serving, UpperAnswersEveryLineOfOneConnection) {
    TempDir dir;
    auto host =
        start_shipped(dir, [this](ConfigBuilder &c) { c.service("upper", "upper.upper").option("mode", GetParam()); });
    ASSERT_TRUE(host->wait_ready());

    TcpClient client(host->port("upper"));
    client.send("Hello, Server!\n");
    EXPECT_EQ(client.read_line(), "HELLO, SERVER!\n");
    client.send("two\nthree\n"); // two lines in one segment
    EXPECT_EQ(client.read_line(), "TWO\n");
    EXPECT_EQ(client.read_line(), "THREE\n");
    client.send("fo"); // one line split over two segments
    client.send("ur, with spaces & punctuation!\n");
    EXPECT_EQ(client.read_line(), "FOUR, WITH SPACES & PUNCTUATION!\n");
    client.send("\n"); // an empty line is still a line
    EXPECT_EQ(client.read_line(), "\n");
    client.shutdown_write();
    EXPECT_EQ(client.read_until_eof(), "") << "upper should close the connection after the client's EOF";
}

// More than the socket buffers hold both ways: the handler's writes must wait
// for the client to read (in mode events, its fiber suspended) and go on
// where they stopped.
TEST_P(Serving, EchoReturnsOneMebibyteAfterHalfClose) {
    TempDir dir;
    auto host = start_shipped(dir, [this](ConfigBuilder &c) { in_mode(c.service("echo", "echo.echo"), GetParam()); });
    ASSERT_TRUE(host->wait_ready());

    std::mt19937 random(20240601);
    std::string payload(1 << 20, '\0');
    for (char &c : payload)
        c = static_cast<char>(random());

    TcpClient client(host->port("echo"));
    const std::string back = client.round_trip(payload, 20s);
    ASSERT_EQ(back.size(), payload.size());
    const auto mismatch = std::mismatch(back.begin(), back.end(), payload.begin());
    EXPECT_TRUE(mismatch.first == back.end()) << "first differing byte at offset " << (mismatch.first - back.begin());
}

INSTANTIATE_TEST_SUITE_P(Modes, Serving, ::testing::Values("threads", "events"),
                         [](const auto &info) { return info.param; });

TEST(Serving, ThreadnameAnswersWithTheWorkerThreadName) {
    TempDir dir;
    auto host = start_shipped(dir, [](ConfigBuilder &c) { c.service("names", "threadname.threadname"); });
    ASSERT_TRUE(host->wait_ready());

    TcpClient client(host->port("names"));
    const std::string thread_name = thread_of(client, "hello"); // a name may hold colons: "names:1"
    EXPECT_EQ(thread_of(client, "again"), thread_name) << "one connection is served by one worker";
}

// Seed 003: a client that connects and says nothing must not hold up others.
void idle_client_does_not_block_another(const std::function<void(ServiceSpec &)> &tune) {
    TempDir dir;
    auto host = start_shipped(dir, [&](ConfigBuilder &c) { tune(c.service("upper", "upper.upper")); });
    ASSERT_TRUE(host->wait_ready());

    TcpClient silent(host->port("upper"));
    TcpClient talker(host->port("upper"));
    talker.send("are you there?\n");
    EXPECT_EQ(talker.read_line(1s), "ARE YOU THERE?\n") << "B must be answered within 1 s while A is silent";

    silent.send("late but here\n");
    EXPECT_EQ(silent.read_line(), "LATE BUT HERE\n") << "A is still served once it speaks";
}

TEST(Serving, SilentClientDoesNotBlockAnotherWithDefaultThreads) {
    idle_client_does_not_block_another([](ServiceSpec &) {});
}

TEST(Serving, SilentClientDoesNotBlockAnotherWithTwoThreads) {
    idle_client_does_not_block_another([](ServiceSpec &s) { s.threads(1, 2); });
}

TEST(Serving, FiftyClientsAtOnceAreAllAnsweredCorrectly) {
    constexpr int kClients = 50;
    constexpr int kLines = 5;
    TempDir dir;
    auto host = start_shipped(dir, [](ConfigBuilder &c) { c.service("upper", "upper.upper"); });
    ASSERT_TRUE(host->wait_ready());
    const auto port = host->port("upper");

    std::mutex mutex;
    std::vector<std::string> failures;
    std::latch all_connected(kClients);
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.emplace_back([&, i] {
            auto fail = [&](const std::string &what) {
                std::lock_guard lock(mutex);
                failures.push_back("client " + std::to_string(i) + ": " + what);
            };
            std::optional<TcpClient> client;
            try {
                client.emplace(port, 10s);
            } catch (const std::exception &e) {
                fail(e.what());
            }
            all_connected.arrive_and_wait(); // everyone is connected before anyone talks
            if (!client) return;
            try {
                for (int line = 0; line < kLines; ++line) {
                    const std::string text = "client " + std::to_string(i) + " line " + std::to_string(line) + "\n";
                    client->send(text);
                    const auto reply = client->read_line(20s);
                    if (reply != upper_cased(text))
                        fail("sent \"" + text + "\", got \"" + reply.value_or("<EOF>") + "\"");
                }
                client->shutdown_write();
                if (const auto rest = client->read_until_eof(10s); !rest.empty()) fail("extra bytes: " + rest);
            } catch (const std::exception &e) {
                fail(e.what());
            }
        });
    }
    for (auto &t : clients)
        t.join();
    EXPECT_TRUE(failures.empty()) << failures.size() << " of " << kClients
                                  << " clients failed, first: " << failures.front();
}

} // namespace
} // namespace portico::test
