// events_serving_test.cpp — what only `mode: events` does, from a user's
// chair: a few event-loop threads serve every connection (one fiber each),
// so a silent client holds no thread and many clients share one. That the
// same plugins answer as in mode threads is the Modes/Serving tests in
// serving_test.cpp.
#include "harness/ConfigBuilder.h"
#include "harness/Elapsed.h"
#include "harness/PorticoProcess.h"
#include "harness/ShippedHost.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"
#include "harness/Text.h"
#include "harness/Threadname.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <barrier>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace portico::test {
namespace {

// Twenty clients each send a different 256 KiB at once on one loop: every
// handler's reads and writes wait in turn, and each client gets back exactly
// its own bytes.
TEST(EventsServing, TwentyEchoesAtOnceOnOneLoopEachGetTheirOwnBytes) {
    constexpr int kClients = 20;
    TempDir dir;
    auto host = start_shipped(dir, [](ConfigBuilder &c) { c.service("echo", "echo.echo").events(1); });
    ASSERT_TRUE(host->wait_ready());
    const auto port = host->port("echo");

    std::mutex mutex;
    std::vector<std::string> failures;
    std::barrier start(kClients);
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.emplace_back([&, i] {
            std::mt19937 random(static_cast<unsigned>(i) + 1);
            std::string payload(256 * 1024, '\0');
            for (char &c : payload)
                c = static_cast<char>(random());
            std::string what;
            std::optional<TcpClient> client;
            try {
                client.emplace(port, 10s);
            } catch (const std::exception &e) {
                what = e.what();
            }
            if (!client)
                start.arrive_and_drop(); // nobody waits for a client that never connected
            else
                start.arrive_and_wait(); // everyone sends at once
            try {
                if (client) {
                    const std::string back = client->round_trip(payload, 20s);
                    if (back != payload)
                        what = "got " + std::to_string(back.size()) + " bytes back, not its own " +
                               std::to_string(payload.size());
                }
            } catch (const std::exception &e) {
                what = e.what();
            }
            if (what.empty()) return;
            std::lock_guard lock(mutex);
            failures.push_back("client " + std::to_string(i) + ": " + what);
        });
    }
    for (auto &t : clients)
        t.join();
    EXPECT_TRUE(failures.empty()) << failures.size() << " of " << kClients << " failed, first: " << failures.front();
}

// Seed 003 on a single loop thread: the handler of a silent client waits in
// read_line, and that must not hold up the loop for anyone else. (In mode
// threads with one worker, the talker would wait behind the silent one.)
TEST(EventsServing, SilentClientsDoNotBlockAnotherOnOneLoop) {
    TempDir dir;
    auto host = start_shipped(dir, [](ConfigBuilder &c) { c.service("upper", "upper.upper").events(1); });
    ASSERT_TRUE(host->wait_ready());
    const auto port = host->port("upper");

    std::vector<TcpClient> silent;
    for (int i = 0; i < 10; ++i)
        silent.emplace_back(port);
    silent.front().send("half a li"); // one of them stops mid-line
    TcpClient talker(port);
    talker.send("are you there?\n");
    EXPECT_EQ(talker.read_line(1s), "ARE YOU THERE?\n") << "must be answered within 1 s while 10 others are silent";

    for (std::size_t i = 0; i < silent.size(); ++i) {
        const std::string line = "late " + std::to_string(i) + "\n";
        silent[i].send(line);
        EXPECT_EQ(silent[i].read_line(), upper_cased(i == 0 ? "half a li" + line : line))
            << "silent client " << i << " is still served once it speaks";
    }
}

// threadname shows which thread ran the handler: with `loops: 1`, connections
// open at the same time all run on that one thread (in mode threads each would
// have a worker of its own), and each keeps it for all its lines.
TEST(EventsServing, ConcurrentConnectionsShareTheOneLoopThread) {
    TempDir dir;
    auto host = start_shipped(dir, [](ConfigBuilder &c) { c.service("names", "threadname.threadname").events(1); });
    ASSERT_TRUE(host->wait_ready());
    const auto port = host->port("names");

    std::vector<TcpClient> open;
    for (int i = 0; i < 3; ++i)
        open.emplace_back(port);
    std::set<std::string> names;
    for (int round = 0; round < 2; ++round) {
        for (std::size_t i = 0; i < open.size(); ++i) {
            const std::string line = "conn " + std::to_string(i) + " round " + std::to_string(round) + "\n";
            open[i].send(line);
            const auto reply = open[i].read_line();
            const std::string name = thread_name_in(reply, line);
            ASSERT_FALSE(name.empty()) << "not a threadname reply: " << reply.value_or("<EOF>");
            names.insert(name);
        }
    }
    EXPECT_EQ(names.size(), 1u) << "three connections open at once on one loop ran on " << names.size()
                                << " threads: " << *names.begin() << " …";
}

// 50 clients on `loops: 2`, in lock-step: nobody sends line n+1 before every
// client has its reply to line n, so all 50 sessions are open and in use at
// once. Every reply is right, and at most two threads ever ran a handler.
TEST(EventsServing, FiftyClientsInLockStepOnTwoLoopsAreAllAnsweredByAtMostTwoThreads) {
    constexpr int kClients = 50;
    constexpr int kLines = 5;
    TempDir dir;
    auto host = start_shipped(dir, [](ConfigBuilder &c) { c.service("names", "threadname.threadname").events(2); });
    ASSERT_TRUE(host->wait_ready());
    const auto port = host->port("names");

    std::mutex mutex;
    std::vector<std::string> failures;
    std::map<std::string, int> clients_by_thread;
    std::barrier step(kClients); // a client that fails leaves it (arrive_and_drop), so no one waits for it
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.emplace_back([&, i] {
            auto fail = [&](const std::string &what) {
                std::lock_guard lock(mutex);
                failures.push_back("client " + std::to_string(i) + ": " + what);
                step.arrive_and_drop();
            };
            std::optional<TcpClient> client;
            try {
                client.emplace(port, 10s);
            } catch (const std::exception &e) {
                return fail(e.what());
            }
            step.arrive_and_wait(); // everyone is connected before anyone talks
            std::string thread;
            for (int line = 0; line < kLines; ++line) {
                const std::string text = "client " + std::to_string(i) + " line " + std::to_string(line) + "\n";
                std::optional<std::string> reply;
                try {
                    client->send(text);
                    reply = client->read_line(10s);
                } catch (const std::exception &e) {
                    return fail(e.what());
                }
                const std::string name = thread_name_in(reply, text);
                if (name.empty()) return fail("sent \"" + text + "\", got \"" + reply.value_or("<EOF>") + "\"");
                if (!thread.empty() && name != thread) return fail("moved from thread " + thread + " to " + name);
                thread = name;
                step.arrive_and_wait();
            }
            std::lock_guard lock(mutex);
            ++clients_by_thread[thread];
        });
    }
    for (auto &t : clients)
        t.join();
    EXPECT_TRUE(failures.empty()) << failures.size() << " of " << kClients
                                  << " clients failed, first: " << failures.front();
    std::string shown;
    for (const auto &[name, count] : clients_by_thread)
        shown += " " + name + "×" + std::to_string(count);
    EXPECT_LE(clients_by_thread.size(), 2u) << "handler threads:" << shown;
}

// The service's `config:` map reaches the handler: http_hello's body and its
// keep-alive time (the handler waits in short timed reads between requests).
TEST(EventsServing, ServiceSettingsReachTheHandler) {
    TempDir dir;
    auto host = start_shipped(dir, [](ConfigBuilder &c) {
        c.service("web", "http_hello.http_hello")
            .events(1)
            .option("config", R"({body: "hello from a fiber\n", keepalive_timeout_ms: 700})");
    });
    ASSERT_TRUE(host->wait_ready());

    TcpClient client(host->port("web"));
    for (int request = 0; request < 2; ++request) { // the second one on the kept-alive connection
        SCOPED_TRACE("request " + std::to_string(request + 1));
        client.send("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
        EXPECT_EQ(client.read_line(), "HTTP/1.1 200 OK\r\n");
        std::string length;
        for (std::string header; (header = client.read_line().value_or("\r\n")) != "\r\n";)
            if (header.starts_with("Content-Length: ")) length = header.substr(16);
        EXPECT_EQ(length, "19\r\n");
        EXPECT_EQ(client.read_line(), "hello from a fiber\n");
    }
    const auto idle_since = Clock::now();
    const auto rest = client.read_until_closed(5s);
    const Millis idle = since(idle_since);
    ASSERT_TRUE(rest.has_value()) << "keepalive_timeout_ms 700 did not close the idle connection";
    EXPECT_EQ(*rest, "");
    EXPECT_GE(idle, 500ms) << "closed before keepalive_timeout_ms";
    EXPECT_LT(idle, 3000ms) << "closed long after keepalive_timeout_ms";
}

} // namespace
} // namespace portico::test
