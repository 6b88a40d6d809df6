// chat_test.cpp — the group chat (seed 003) from its members' chairs: lines
// reach every other member with the sender's address, leavers are announced
// and forgotten, and a member who stops reading never holds up the others;
// in mode threads and in mode events (one loop) alike. A room of 1000
// members on one event loop delivers every line to every member.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/Sockets.h"
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

enum class Mode { threads, events };

std::string mode_name(const ::testing::TestParamInfo<Mode> &info) {
    return info.param == Mode::threads ? "Threads" : "Events";
}

template <class Tune> std::unique_ptr<PorticoProcess> start_chat(const TempDir &dir, Mode mode, Tune tune) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("chat")}));
    ServiceSpec &chat = config.service("chat", "chat.chat");
    if (mode == Mode::threads)
        chat.threads(2, 16);
    else
        chat.events(1);
    tune(chat);
    auto host = std::make_unique<PorticoProcess>(dir, config.yaml());
    if (!host->wait_ready()) throw std::runtime_error("portico did not become ready:\n" + host->log_text());
    return host;
}

class Chat : public ::testing::TestWithParam<Mode> {};

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

TEST_P(Chat, EveryLineReachesEveryOtherMemberWithItsSender) {
    TempDir dir;
    auto host = start_chat(dir, GetParam(), [](ServiceSpec &) {});
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

TEST_P(Chat, ADisconnectIsAnnouncedAndTheMemberForgotten) {
    TempDir dir;
    auto host = start_chat(dir, GetParam(), [](ServiceSpec &) {});
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

TEST_P(Chat, AMemberThatStopsReadingIsDroppedWithoutSlowingTheOthers) {
    constexpr int kWindows = 40;
    constexpr int kLinesPerWindow = 200;
    TempDir dir;
    auto host = start_chat(dir, GetParam(), [](ServiceSpec &s) { s.setting("max_queue_bytes", "524288"); });
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
            ASSERT_EQ(got, "[" + sender.address + "] " + std::to_string(window * kLinesPerWindow + i) + " " + padding +
                               "\n");
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

TEST_P(Chat, ShutdownDoesNotWaitForIdleMembers) {
    TempDir dir;
    auto host = start_chat(dir, GetParam(), [](ServiceSpec &) {});
    Member a(host->port("chat"));
    const auto start = std::chrono::steady_clock::now();
    host->send_signal(SIGTERM);
    EXPECT_EQ(host->wait_exit(8s), ExitStatus::exited(0));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "an idle member held up shutdown";
}

// The wake-ups at scale: every member's session waits on its own socket and
// doorbell on the one loop, and each line rings 999 doorbells.
TEST(ChatRoom, AThousandMembersOnOneLoopEachReceiveEveryLine) {
    constexpr int kMembers = 1000;
    constexpr int kSenders = 20;
    // Each member costs a descriptor on both sides (the host inherits our limit).
    const std::size_t fds = raise_fd_limit(2 * kMembers + 1024);
    if (fds < 2 * kMembers + 512)
        GTEST_SKIP() << "RLIMIT_NOFILE is " << fds << " even after raising it to the hard limit; this test needs "
                     << 2 * kMembers + 512 << " descriptors (ulimit -Hn)";
    TempDir dir;
    auto host = start_chat(dir, Mode::events, [](ServiceSpec &s) {
        s.option("max_connections", std::to_string(kMembers + 8)).option("backlog", "1024");
    });
    const auto port = host->port("chat");

    std::vector<std::unique_ptr<Member>> members;
    members.reserve(kMembers);
    for (int i = 0; i < kMembers; ++i)
        members.push_back(std::make_unique<Member>(port)); // in the room once welcomed

    for (int s = 0; s < kSenders; ++s)
        members[static_cast<std::size_t>(s * (kMembers / kSenders))]->client.send("line " + std::to_string(s) + "\n");

    // Everyone gets the 20 lines (a sender all but its own), in between the
    // notices of those who joined after it.
    for (int i = 0; i < kMembers; ++i) {
        Member &m = *members[static_cast<std::size_t>(i)];
        const bool sender = i % (kMembers / kSenders) == 0;
        std::vector<bool> got(kSenders, false);
        int expected = sender ? kSenders - 1 : kSenders;
        while (expected > 0) {
            const std::string line = m.line();
            if (line.rfind("* ", 0) == 0) continue; // someone joined
            const auto space = line.rfind(' ');
            ASSERT_TRUE(line.rfind("[127.0.0.1:", 0) == 0 && space != std::string::npos)
                << "member " << i << ": " << line;
            const int s = std::stoi(line.substr(space + 1));
            ASSERT_TRUE(s >= 0 && s < kSenders && !got[static_cast<std::size_t>(s)]) << "member " << i << ": " << line;
            got[static_cast<std::size_t>(s)] = true;
            --expected;
        }
    }
    EXPECT_TRUE(host->running());
}

INSTANTIATE_TEST_SUITE_P(Modes, Chat, ::testing::Values(Mode::threads, Mode::events), mode_name);

} // namespace
} // namespace portico::test
