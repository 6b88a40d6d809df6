// udp_unix_test.cpp — `protocol: udp` on a `unix:` path, socketserver's
// UnixDatagramServer: clients that bind a path of their own get replies
// there, and a handler sees that path as the peer; an unbound client is
// served but its reply has nowhere to go (counted in /status, logged once);
// a client that never reads holds no worker; the socket file's mode, a stale
// file replaced, a live one refused, the file kept across a config reload
// and removed at stop.
#include "harness/AdminStatus.h"
#include "harness/ConfigBuilder.h"
#include "harness/HttpClient.h"
#include "harness/Json.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/TempDir.h"
#include "harness/UnixDatagramClient.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

ServiceSpec &unix_udp(ConfigBuilder &config, std::string name, std::string handler, const fs::path &path) {
    return config.service(std::move(name), std::move(handler))
        .option("protocol", "udp")
        .listen("unix:" + path.string());
}

ConfigBuilder udp_plugins(const TempDir &dir) {
    ConfigBuilder config;
    config.plugin_dir(
        make_plugin_dir(dir, {shipped_plugin("udp_upper"), shipped_plugin("udp_echo"), test_plugin("udp_probe")}));
    return config;
}

ino_t inode_of(const fs::path &path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST(UdpUnix, UpperAndEchoReplyToEachSendersOwnPathAndTheFilesGoAtStop) {
    TempDir dir;
    const fs::path upper_path = dir / "upper.sock";
    const fs::path echo_path = dir / "echo.sock";
    ConfigBuilder config = udp_plugins(dir);
    unix_udp(config, "upper", "udp_upper", upper_path).option("unix_mode", yaml_quote("0600"));
    unix_udp(config, "echo", "udp_echo", echo_path);
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    EXPECT_TRUE(host.wait_for_log("service 'upper' listening on unix:" + upper_path.string(), 1s)) << host.log_text();

    struct stat st {};
    ASSERT_EQ(::lstat(upper_path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u) << "unix_mode \"0600\" not applied";

    UnixDatagramClient first(upper_path, dir / "client1.sock");
    UnixDatagramClient second(upper_path, dir / "client2.sock");
    EXPECT_EQ(first.request("Hello, Server!"), "HELLO, SERVER!");
    EXPECT_EQ(second.request("second client\n"), "SECOND CLIENT\n");
    EXPECT_EQ(first.request("again"), "AGAIN") << "each reply goes to its own sender's path";

    UnixDatagramClient echo(echo_path, dir / "client3.sock");
    EXPECT_EQ(echo.request("as sent\n"), "as sent\n");

    host.send_signal(SIGTERM);
    EXPECT_EQ(host.wait_exit(10s), ExitStatus::exited(0));
    EXPECT_FALSE(fs::exists(fs::symlink_status(upper_path))) << "stop should remove " << upper_path;
    EXPECT_FALSE(fs::exists(fs::symlink_status(echo_path))) << "stop should remove " << echo_path;
}

TEST(UdpUnix, AHandlerSeesTheSendersPathAsItsPeer) {
    TempDir dir;
    const fs::path path = dir / "probe.sock";
    ConfigBuilder config = udp_plugins(dir);
    unix_udp(config, "probe", "udp_probe.probe", path);
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    UnixDatagramClient client(path, dir / "client.sock");
    EXPECT_EQ(client.request("peer"), "peer unix:" + (dir / "client.sock").string());
}

TEST(UdpUnix, AnUnboundSenderIsServedButItsReplyIsCountedAndLoggedOnce) {
    TempDir dir;
    const fs::path path = dir / "echo.sock";
    ConfigBuilder config = udp_plugins(dir);
    unix_udp(config, "echo", "udp_echo", path);
    config.raw("admin:\n  listen: 127.0.0.1:0\n");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto admin = host.wait_for_log(std::regex(R"(admin listening on [0-9.]+:(\d+))"), 5s);
    ASSERT_TRUE(admin) << host.log_text();
    const auto admin_port = static_cast<std::uint16_t>(std::stoi((*admin)[1]));

    UnixDatagramClient unbound(path, {});
    for (int i = 0; i < 3; ++i)
        unbound.send("nowhere to reply " + std::to_string(i));
    const auto unaddressable = [&] {
        const Json status = Json::parse(http_get(admin_port, "/status").body);
        return service_named(status, "echo")["datagrams"]["dropped_by"]["unaddressable_reply"].number();
    };
    EXPECT_TRUE(wait_until([&] { return unaddressable() == 3; }, 5s))
        << "3 unsendable replies should be counted; /status says " << unaddressable();

    UnixDatagramClient bound(path, dir / "client.sock");
    EXPECT_EQ(bound.request("still served"), "still served") << "the host must go on serving after them";
    EXPECT_EQ(host.count_log_lines({"service 'echo'", "bound no path"}), 1u) << "logged once, counted each time";
    EXPECT_TRUE(host.running());
}

TEST(UdpUnix, AClientThatNeverReadsCannotHoldTheOnlyWorker) {
    TempDir dir;
    const fs::path path = dir / "echo.sock";
    ConfigBuilder config = udp_plugins(dir);
    unix_udp(config, "echo", "udp_echo", path).threads(1, 1);
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());

    // More replies than a unix datagram socket queues (net.unix.max_dgram_qlen, 512 by default).
    UnixDatagramClient deaf(path, dir / "deaf.sock");
    for (int i = 0; i < 1000; ++i)
        deaf.send("never read " + std::to_string(i));
    // Datagrams may be dropped while the host's queue is full of the deaf
    // client's (UDP, max_queued): asked again until answered, not waited on.
    UnixDatagramClient other(path, dir / "other.sock");
    std::optional<std::string> reply;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!reply && std::chrono::steady_clock::now() < deadline) {
        other.send("still answered");
        reply = other.receive(500ms);
    }
    EXPECT_EQ(reply.value_or("(no reply in 10 s)"), "still answered")
        << "a reply to a full client queue must be dropped, not wait for room";
}

TEST(UdpUnix, AStaleFileIsReplacedAndALiveDatagramServersPathIsRefused) {
    TempDir dir;
    const fs::path path = dir / "echo.sock";
    {
        // A datagram server that died and left its file behind.
        const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr *>(&addr), sizeof addr), 0);
        ::close(fd);
    }
    ASSERT_TRUE(fs::exists(fs::symlink_status(path)));
    {
        ConfigBuilder config = udp_plugins(dir);
        unix_udp(config, "echo", "udp_echo", path);
        PorticoProcess host(dir, config.yaml());
        ASSERT_TRUE(host.wait_ready()) << "a socket file nobody answers on should be replaced";
        UnixDatagramClient client(path, dir / "client.sock");
        EXPECT_EQ(client.request("hi"), "hi");
    }

    // A live datagram socket answers a stream probe with EPROTOTYPE: in use.
    UnixDatagramClient live(dir / "live.sock", dir / "taken.sock");
    ConfigBuilder config = udp_plugins(dir);
    unix_udp(config, "echo", "udp_echo", dir / "taken.sock");
    PorticoProcess host(dir, config.yaml());
    EXPECT_EQ(host.wait_exit(10s), ExitStatus::exited(2));
    EXPECT_NE(host.log_text().find("is in use by another running server"), std::string::npos) << host.log_text();
    EXPECT_TRUE(fs::exists(fs::symlink_status(dir / "taken.sock"))) << "the live server's file must be left alone";
}

TEST(UdpUnix, AConfigReloadKeepsTheSocketFile) {
    TempDir dir;
    const fs::path path = dir / "upper.sock";
    const auto make_config = [&](int max_threads) {
        ConfigBuilder config = udp_plugins(dir);
        unix_udp(config, "upper", "udp_upper", path).threads(1, max_threads);
        return config.yaml();
    };
    PorticoProcess host(dir, make_config(2));
    ASSERT_TRUE(host.wait_ready());
    const ino_t before = inode_of(path);
    ASSERT_NE(before, 0u);
    UnixDatagramClient client(path, dir / "client.sock");
    EXPECT_EQ(client.request("before"), "BEFORE");

    host.rewrite_config(make_config(4));
    host.send_signal(SIGHUP);
    ASSERT_TRUE(host.wait_for_log("service 'upper' changed: now on unix:" + path.string(), 10s)) << host.log_text();
    EXPECT_EQ(client.request("after"), "AFTER");
    EXPECT_EQ(inode_of(path), before) << "the successor should serve on the same socket file, not a new one";
}

} // namespace
} // namespace portico::test
