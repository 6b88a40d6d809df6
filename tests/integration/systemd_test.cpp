// systemd_test.cpp — the host under systemd's protocols without a running
// systemd (issue 17, item 2): sd_notify datagrams received on a test
// NOTIFY_SOCKET, and sockets passed by systemd-socket-activate (LISTEN_FDS,
// LISTEN_FDNAMES) served by name or address, or refused at startup when
// they fit no service.
#include "harness/ChildProcess.h"
#include "harness/ConfigBuilder.h"
#include "harness/ExternalTool.h"
#include "harness/NotifySocket.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/Sockets.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"
#include "harness/UdpClient.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

// A port free on 127.0.0.1 for `type` at this moment, for tools that need
// a number (systemd-socket-activate binds it again at once).
std::uint16_t free_port(int type) {
    const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr *>(&addr), len) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0)
        throw std::runtime_error("free_port: cannot bind 127.0.0.1:0");
    ::close(fd);
    return ntohs(addr.sin_port);
}

fs::path socket_activate() {
    return require_tool("systemd-socket-activate", "systemd");
}

bool wait_output(ChildProcess &child, const std::string &text, Millis timeout) {
    return child.wait_for_output([&](const std::string &out) { return out.find(text) != std::string::npos; }, timeout);
}

// The notifications the host sends over its life, in order: READY once it
// serves, RELOADING (with the monotonic time) then READY around a reload,
// STOPPING when it stops; STATUS says what it does.
TEST(SystemdNotify, ReadyReloadingReadyStoppingInOrder) {
    TempDir dir;
    NotifySocket notify((dir / "notify.sock").string());
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("echo")}));
    config.service("echo", "echo.echo");
    const fs::path yaml = dir.write_file("portico.yaml", config.yaml());
    ChildProcess host("/usr/bin/env",
                      {"NOTIFY_SOCKET=" + notify.address(), portico_binary().string(), "--config", yaml.string()});

    std::string skipped;
    const auto ready = notify.receive_with("READY=1", 10s, &skipped);
    ASSERT_TRUE(ready) << "no READY=1; host output:\n" << host.output();
    EXPECT_EQ(skipped, "") << "nothing comes before READY=1";
    EXPECT_TRUE(has_field(*ready, "STATUS=1 service, 0 sessions open")) << *ready;

    host.send_signal(SIGHUP);
    const auto reloading = notify.receive_with("RELOADING=1", 10s, &skipped);
    ASSERT_TRUE(reloading) << "no RELOADING=1; host output:\n" << host.output();
    EXPECT_NE(reloading->find("\nMONOTONIC_USEC="), std::string::npos) << *reloading;
    skipped.clear();
    ASSERT_TRUE(notify.receive_with("READY=1", 10s, &skipped)) << "no READY=1 after the reload";
    EXPECT_EQ(skipped.find("STOPPING=1"), std::string::npos);

    host.send_signal(SIGTERM);
    const auto stopping = notify.receive_with("STOPPING=1", 10s, &skipped);
    ASSERT_TRUE(stopping) << "no STOPPING=1; host output:\n" << host.output();
    EXPECT_TRUE(host.wait_exit(10s) == ExitStatus::exited(0)) << host.output();
}

// WATCHDOG_USEC set: WATCHDOG=1 comes at half that period, here on an
// abstract-namespace NOTIFY_SOCKET ("@name").
TEST(SystemdNotify, WatchdogPingsAtHalfThePeriodOnAnAbstractSocket) {
    TempDir dir;
    NotifySocket notify("@portico-test-notify-" + std::to_string(::getpid()));
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("echo")}));
    config.service("echo", "echo.echo");
    const fs::path yaml = dir.write_file("portico.yaml", config.yaml());
    ChildProcess host("/usr/bin/env", {"NOTIFY_SOCKET=" + notify.address(), "WATCHDOG_USEC=400000",
                                       portico_binary().string(), "--config", yaml.string()});
    ASSERT_TRUE(notify.receive_with("READY=1", 10s)) << host.output();
    // 200 ms apart: five pings take about a second.
    for (int i = 0; i < 5; ++i)
        ASSERT_TRUE(notify.receive_with("WATCHDOG=1", 5s)) << "ping " << i << "; host output:\n" << host.output();
    host.send_signal(SIGTERM);
    EXPECT_TRUE(host.wait_exit(10s) == ExitStatus::exited(0)) << host.output();
}

// The watchdog speaks for the services' loops too: while a mode events loop
// is stalled in handler code (slow.reply sleeps 6 s), no WATCHDOG=1 is sent;
// once it serves again, the pings resume.
TEST(SystemdNotify, WatchdogIsWithheldWhileAnEventLoopIsStalled) {
    TempDir dir;
    NotifySocket notify((dir / "notify.sock").string());
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("slow")}));
    config.service("sleepy", "slow.reply").events(1).setting("delay_ms", "6000");
    const fs::path yaml = dir.write_file("portico.yaml", config.yaml());
    ChildProcess host("/usr/bin/env", {"NOTIFY_SOCKET=" + notify.address(), "WATCHDOG_USEC=400000",
                                       portico_binary().string(), "--config", yaml.string()});
    ASSERT_TRUE(notify.receive_with("READY=1", 10s)) << host.output();
    ASSERT_TRUE(notify.receive_with("WATCHDOG=1", 5s)) << host.output();
    const std::regex port_line(R"(service 'sleepy' listening on 127\.0\.0\.1:(\d+))");
    std::smatch match;
    const std::string out = host.output();
    ASSERT_TRUE(std::regex_search(out, match, port_line)) << out;

    TcpClient sleeper(static_cast<std::uint16_t>(std::stoi(match[1])));
    sleeper.send("nap\n");
    ASSERT_TRUE(wait_output(host, "is stalled", 5s)) << host.output();
    // A ping decided just before the stall was noticed may still arrive.
    while (notify.receive(300ms)) {
    }
    std::string during;
    EXPECT_FALSE(notify.receive_with("WATCHDOG=1", 1s, &during)) << "a ping while the loop is stalled";
    EXPECT_FALSE(wait_output(host, "serves again after a stall", 0ms))
        << "the stall ended before the check; host output:\n"
        << host.output();

    EXPECT_EQ(sleeper.read_line(10s), "done: nap\n");
    ASSERT_TRUE(wait_output(host, "serves again after a stall", 5s)) << host.output();
    EXPECT_TRUE(notify.receive_with("WATCHDOG=1", 5s)) << "no ping after the loop serves again";
    sleeper.close();
    host.send_signal(SIGTERM);
    EXPECT_TRUE(host.wait_exit(10s) == ExitStatus::exited(0)) << host.output();
}

// Three sockets from systemd-socket-activate (nested once, as only one
// kind, stream or datagram, fits one call): a udp one by name, a tcp one by
// address (its name is the unit's, as systemd gives by default) and a unix
// one by name. The host serves on them, keeps them across a config reload
// and leaves the unix file in place at exit (it is systemd's).
TEST(SocketActivation, ServesPassedTcpUdpAndUnixSocketsByNameOrAddress) {
    TempDir dir;
    const auto udp_port = free_port(SOCK_DGRAM);
    const auto tcp_port = free_port(SOCK_STREAM);
    const fs::path unix_path = dir / "echo.sock";
    const auto plugins =
        make_plugin_dir(dir, {shipped_plugin("echo"), shipped_plugin("upper"), shipped_plugin("udp_upper")});
    const auto write_config = [&](const std::string &max_line) {
        ConfigBuilder config;
        config.plugin_dir(plugins);
        config.service("shout", "udp_upper").option("protocol", "udp").listen("127.0.0.1:" + std::to_string(udp_port));
        config.service("echo", "echo.echo")
            .listen("127.0.0.1:" + std::to_string(tcp_port))
            .option("max_line", max_line);
        config.service("uecho", "echo.echo").listen("unix:" + unix_path.string());
        return dir.write_file("portico.yaml", config.yaml());
    };
    const fs::path yaml = write_config("4096");
    const std::string tool = socket_activate().string();
    ChildProcess host(tool,
                      {"-d", "-l", "127.0.0.1:" + std::to_string(udp_port), "--fdname=shout", tool, "-l",
                       "127.0.0.1:" + std::to_string(tcp_port), "-l", unix_path.string(),
                       "--fdname=shout:portico.socket:uecho", portico_binary().string(), "--config", yaml.string()});
    ASSERT_TRUE(wait_output(host, "Listening on 127.0.0.1:" + std::to_string(udp_port), 10s)) << host.output();

    // The first datagram starts the chain (the inner tool starts at once, as
    // the datagram is still there); it waits in the passed socket and the
    // host answers it.
    UdpClient udp(udp_port);
    EXPECT_EQ(udp.request("wake up", 15s), "WAKE UP") << host.output();
    ASSERT_TRUE(wait_output(host, "portico ready", 10s)) << host.output();
    EXPECT_EQ(ask(tcp_port, "by address"), "by address\n");
    TcpClient unix_client = connect_unix(unix_path);
    unix_client.send("by name\n");
    EXPECT_EQ(unix_client.read_line(), "by name\n");
    unix_client.close();
    const std::string out = host.output();
    for (const char *service : {"shout", "echo", "uecho"})
        EXPECT_NE(out.find(std::string("service '") + service + "' serving on the passed socket"), std::string::npos)
            << service << "\n"
            << out;

    // A changed setting replaces the service; the passed socket stays.
    write_config("1024");
    host.send_signal(SIGHUP);
    ASSERT_TRUE(wait_output(host, "service 'echo' changed", 10s)) << host.output();
    EXPECT_EQ(ask(tcp_port, "after reload"), "after reload\n") << host.output();
    EXPECT_EQ(udp.request("still here", 5s), "STILL HERE");

    host.send_signal(SIGTERM);
    EXPECT_TRUE(host.wait_exit(10s) == ExitStatus::exited(0)) << host.output();
    EXPECT_TRUE(fs::exists(unix_path)) << "the unix socket file belongs to the socket unit, not to the host";
}

// A passed socket no service claims, and one whose kind does not fit the
// service of its name: both stop the start with a message naming the fd,
// the socket and what to change.
TEST(SocketActivation, UnclaimedOrWrongKindSocketIsAStartupError) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("echo")}));
    config.service("echo", "echo.echo").listen("unix:" + (dir / "echo.sock").string());
    const fs::path yaml = dir.write_file("portico.yaml", config.yaml());
    const std::string tool = socket_activate().string();
    {
        const auto stray = free_port(SOCK_STREAM);
        ChildProcess host(tool, {"-l", (dir / "echo.sock").string(), "-l", "127.0.0.1:" + std::to_string(stray),
                                 "--fdname=echo:stray", portico_binary().string(), "--config", yaml.string()});
        ASSERT_TRUE(wait_output(host, "Listening on 127.0.0.1:" + std::to_string(stray), 10s)) << host.output();
        EXPECT_EQ(TcpClient::probe_connect(stray), 0);
        EXPECT_TRUE(host.wait_exit(15s) == ExitStatus::exited(2)) << host.output();
        const std::string out = host.output();
        EXPECT_NE(
            out.find("passed socket fd 4 named 'stray' on 127.0.0.1:" + std::to_string(stray) + " matches no service"),
            std::string::npos)
            << out;
    }
    {
        const auto udp = free_port(SOCK_DGRAM);
        ChildProcess host(tool, {"-d", "-l", "127.0.0.1:" + std::to_string(udp), "--fdname=echo",
                                 portico_binary().string(), "--config", yaml.string()});
        ASSERT_TRUE(wait_output(host, "Listening on 127.0.0.1:" + std::to_string(udp), 10s)) << host.output();
        UdpClient client(udp);
        client.send("start");
        EXPECT_TRUE(host.wait_exit(15s) == ExitStatus::exited(2)) << host.output();
        const std::string out = host.output();
        EXPECT_NE(out.find("service 'echo' was passed fd 3 named 'echo' on 127.0.0.1:" + std::to_string(udp) +
                           ", which is a datagram (udp) socket but the service has protocol tcp"),
                  std::string::npos)
            << out;
    }
}

} // namespace
} // namespace portico::test
