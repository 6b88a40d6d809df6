// chat_test.cpp — the group chat (seed 003) from its members' chairs: lines
// reach every other member with the sender's address, leavers are announced
// and forgotten, and a member who stops reading never holds up the others.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace portico::test {
namespace {

template <class Tune>
std::unique_ptr<PorticoProcess> start_chat(const TempDir &dir, Tune tune) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("chat")}));
    tune(config.service("chat", "chat.chat").threads(2, 16));
    auto host = std::make_unique<PorticoProcess>(dir, config.yaml());
    if (!host->wait_ready()) throw std::runtime_error("portico did not become ready:\n" + host->log_text());
    return host;
}

// A member: connected, and its welcome line read, so it is in the room.
struct Member {
    explicit Member(std::uint16_t port) : client(port) {
        const auto welcome = client.read_line();
        if (!welcome || welcome->rfind("* welcome 127.0.0.1:", 0) != 0)
            throw std::runtime_error("no welcome line, got: " + welcome.value_or("<EOF>"));
        address = "127.0.0.1:" + std::to_string(client.local_port());
    }
    std::string line() { return client.read_line().value_or("<EOF>"); }

    TcpClient client;
    std::string address;
};

TEST(Chat, EveryLineReachesEveryOtherMemberWithItsSender) {
    TempDir dir;
    auto host = start_chat(dir, [](ServiceSpec &) {});
    const auto port = host->port("chat");

    Member a(port);
    Member b(port);
    EXPECT_EQ(a.line(), "* " + b.address + " joined\n");
    Member c(port);
    EXPECT_EQ(a.line(), "* " + c.address + " joined\n");
    EXPECT_EQ(b.line(), "* " + c.address + " joined\n");

    a.client.send("hello, room\r\n");
    EXPECT_EQ(b.line(), "[" + a.address + "] hello, room\n");
    EXPECT_EQ(c.line(), "[" + a.address + "] hello, room\n");
    c.client.send("hi a\nand b\n");
    EXPECT_EQ(a.line(), "[" + c.address + "] hi a\n");
    EXPECT_EQ(a.line(), "[" + c.address + "] and b\n");
    EXPECT_EQ(b.line(), "[" + c.address + "] hi a\n");
    EXPECT_EQ(b.line(), "[" + c.address + "] and b\n");

    // The sender never gets its own line back: the next thing A sees is B's.
    b.client.send("from b\n");
    EXPECT_EQ(a.line(), "[" + b.address + "] from b\n");
    EXPECT_EQ(c.line(), "[" + b.address + "] from b\n");
}

TEST(Chat, ADisconnectIsAnnouncedAndTheMemberForgotten) {
    TempDir dir;
    auto host = start_chat(dir, [](ServiceSpec &) {});
    const auto port = host->port("chat");

    Member a(port);
    auto b = std::make_unique<Member>(port);
    EXPECT_EQ(a.line(), "* " + b->address + " joined\n");
    const std::string b_address = b->address;
    b.reset(); // B's socket closes
    EXPECT_EQ(a.line(), "* " + b_address + " left\n");

    Member c(port);
    EXPECT_EQ(a.line(), "* " + c.address + " joined\n");
    a.client.send("still here?\n");
    EXPECT_EQ(c.line(), "[" + a.address + "] still here?\n");
    EXPECT_TRUE(host->running());
}

TEST(Chat, AMemberThatStopsReadingIsDroppedWithoutSlowingTheOthers) {
    constexpr int kWindows = 40;
    constexpr int kLinesPerWindow = 200;
    TempDir dir;
    auto host = start_chat(dir, [](ServiceSpec &s) { s.setting("max_queue_bytes", "524288"); });
    const auto port = host->port("chat");

    Member sender(port);
    Member reader(port);
    Member slow(port); // never reads from here on
    EXPECT_EQ(sender.line(), "* " + reader.address + " joined\n");
    EXPECT_EQ(sender.line(), "* " + slow.address + " joined\n");
    EXPECT_EQ(reader.line(), "* " + slow.address + " joined\n");

    // 8 MB through the room, 200 kB at a time: far more than the slow
    // member's socket buffers and its 512 KiB queue can hold, while the
    // reader keeps up with every window.
    const std::string padding(1000, 'x');
    const auto start = std::chrono::steady_clock::now();
    bool saw_drop = false;
    for (int window = 0; window < kWindows; ++window) {
        std::string batch;
        for (int i = 0; i < kLinesPerWindow; ++i)
            batch += std::to_string(window * kLinesPerWindow + i) + " " + padding + "\n";
        sender.client.send(batch);
        for (int i = 0; i < kLinesPerWindow;) {
            const std::string got = reader.line();
            if (got == "* " + slow.address + " left (too slow to keep up)\n") {
                saw_drop = true;
                continue;
            }
            ASSERT_EQ(got, "[" + sender.address + "] " + std::to_string(window * kLinesPerWindow + i) + " " +
                               padding + "\n");
            ++i;
        }
    }
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_LT(took, 15s) << "the fast member was held up";
    if (!saw_drop) {
        EXPECT_EQ(reader.line(), "* " + slow.address + " left (too slow to keep up)\n");
    }
    EXPECT_EQ(sender.line(), "* " + slow.address + " left (too slow to keep up)\n");

    // Once the slow member drains its socket, its handler sees the drop and closes.
    EXPECT_TRUE(slow.client.read_until_closed(20s)) << "the dropped member's connection stays open";
    reader.client.send("after\n");
    EXPECT_EQ(sender.line(), "[" + reader.address + "] after\n");
}

TEST(Chat, ShutdownDoesNotWaitForIdleMembers) {
    TempDir dir;
    auto host = start_chat(dir, [](ServiceSpec &) {});
    Member a(host->port("chat"));
    const auto start = std::chrono::steady_clock::now();
    host->send_signal(SIGTERM);
    EXPECT_EQ(host->wait_exit(8s), ExitStatus::exited(0));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "an idle member held up shutdown";
}

} // namespace
} // namespace portico::test
