// serving_test.cpp — the walking skeleton from a user's chair: start portico
// with the shipped plugins, connect, send, get the answer back.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <thread>
#include <vector>

namespace portico::test {
namespace {

// Starts a host with the shipped plugins; `add_services` fills in the services.
template <class AddServices>
std::unique_ptr<PorticoProcess> start_shipped(const TempDir &dir, AddServices add_services) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("echo"), shipped_plugin("upper"), shipped_plugin("threadname")}));
    add_services(config);
    return std::make_unique<PorticoProcess>(dir, config.yaml());
}

std::string upper(std::string text) {
    for (char &c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
}

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

TEST(Serving, UpperAnswersEveryLineOfOneConnection) {
    TempDir dir;
    auto host = start_shipped(dir, [](ConfigBuilder &c) { c.service("upper", "upper.upper"); });
    ASSERT_TRUE(host->wait_ready());

    TcpClient client(host->port("upper"));
    client.send("one\n");
    EXPECT_EQ(client.read_line(), "ONE\n");
    client.send("two\nthree\n"); // two lines in one segment
    EXPECT_EQ(client.read_line(), "TWO\n");
    EXPECT_EQ(client.read_line(), "THREE\n");
    client.send("fo"); // one line split over two segments
    client.send("ur, with spaces & punctuation!\n");
    EXPECT_EQ(client.read_line(), "FOUR, WITH SPACES & PUNCTUATION!\n");
    client.send("\n"); // an empty line is still a line
    EXPECT_EQ(client.read_line(), "\n");
}

TEST(Serving, EchoReturnsBinaryBytesIncludingNul) {
    TempDir dir;
    auto host = start_shipped(dir, [](ConfigBuilder &c) { c.service("echo", "echo.echo"); });
    ASSERT_TRUE(host->wait_ready());

    std::string payload;
    for (int round = 0; round < 4; ++round)
        for (int byte = 0; byte < 256; ++byte) payload += static_cast<char>(byte);
    ASSERT_EQ(payload[0], '\0');

    TcpClient client(host->port("echo"));
    const std::string back = client.round_trip(payload);
    EXPECT_EQ(back.size(), payload.size());
    EXPECT_TRUE(back == payload) << "echoed bytes differ from the bytes sent";
}

TEST(Serving, EchoReturnsOneMebibyteAfterHalfClose) {
    TempDir dir;
    auto host = start_shipped(dir, [](ConfigBuilder &c) { c.service("echo", "echo.echo"); });
    ASSERT_TRUE(host->wait_ready());

    std::mt19937 random(20240601);
    std::string payload(1 << 20, '\0');
    for (char &c : payload) c = static_cast<char>(random());

    TcpClient client(host->port("echo"));
    const std::string back = client.round_trip(payload, 20s);
    ASSERT_EQ(back.size(), payload.size());
    const auto mismatch = std::mismatch(back.begin(), back.end(), payload.begin());
    EXPECT_TRUE(mismatch.first == back.end()) << "first differing byte at offset " << (mismatch.first - back.begin());
}

TEST(Serving, ThreadnameAnswersWithTheWorkerThreadName) {
    TempDir dir;
    auto host = start_shipped(dir, [](ConfigBuilder &c) { c.service("names", "threadname.threadname"); });
    ASSERT_TRUE(host->wait_ready());

    TcpClient client(host->port("names"));
    client.send("hello\n");
    const auto first = client.read_line();
    ASSERT_TRUE(first);
    std::smatch m;
    const std::regex reply(R"(^([^\n]+): hello\n$)"); // a name may hold colons: "names:1"
    ASSERT_TRUE(std::regex_match(*first, m, reply)) << "reply was: " << *first;
    const std::string thread_name = m[1];

    client.send("again\n");
    EXPECT_EQ(client.read_line(), thread_name + ": again\n") << "one connection is served by one worker";
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
                    if (reply != upper(text)) fail("sent \"" + text + "\", got \"" + reply.value_or("<EOF>") + "\"");
                }
                client->shutdown_write();
                if (const auto rest = client->read_until_eof(10s); !rest.empty()) fail("extra bytes: " + rest);
            } catch (const std::exception &e) {
                fail(e.what());
            }
        });
    }
    for (auto &t : clients) t.join();
    EXPECT_TRUE(failures.empty()) << failures.size() << " of " << kClients << " clients failed, first: " << failures.front();
}

} // namespace
} // namespace portico::test
