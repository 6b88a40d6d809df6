// seeds_test.cpp — Python socketserver's classic examples against the
// handlers that reproduce them (plugins/socketserver.cpp, chat.relay,
// echo.echo): each client makes the example client's calls — the same
// bytes, no newline where it sends none, one recv where it makes one — and
// expects what the example prints.
#include "harness/ConfigBuilder.h"
#include "harness/ExternalTool.h"
#include "harness/Modes.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/SeedClient.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"
#include "harness/Text.h"
#include "harness/UdpClient.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace portico::test {
namespace {

// A serving host with the plugins the examples need; `add_services` adds the services.
std::unique_ptr<PorticoProcess> start_seeds(const TempDir &dir,
                                            const std::function<void(ConfigBuilder &)> &add_services) {
    ConfigBuilder config;
    config.plugin_dir(
        make_plugin_dir(dir, {shipped_plugin("socketserver"), shipped_plugin("chat"), shipped_plugin("echo")}));
    add_services(config);
    auto host = std::make_unique<PorticoProcess>(dir, config.yaml());
    if (!host->wait_ready()) throw std::runtime_error("portico did not become ready:\n" + host->log_text());
    return host;
}

// `mode` as socketserver names its servers: "single" a plain TCPServer,
// "threads" ThreadingMixIn, "process" ForkingMixIn; "events" Portico's own.
ServiceSpec &serve_in(ServiceSpec &service, const std::string &mode) {
    if (mode == "single" || mode == "process") return service.option("mode", mode);
    return in_mode(service, mode);
}

// The upper-case example's client: "Hello, Server!" without a newline, one recv(1024).
std::string hello_server(std::uint16_t port) {
    SeedClient client(port);
    client.sendall("Hello, Server!");
    return client.recv(1024);
}

TEST(Seeds, UpperOnceAnswersTheTcpServerExampleClient) {
    TempDir dir;
    auto host = start_seeds(
        dir, [](ConfigBuilder &c) { c.service("upper_once", "socketserver.upper_once").option("mode", "single"); });
    const auto port = host->port("upper_once");

    SeedClient client(port);
    client.sendall("Hello, Server!");
    EXPECT_EQ(client.recv(1024), "HELLO, SERVER!");
    EXPECT_EQ(client.recv(1024), "") << "the handler returns after one reply and the host closes the connection";

    SeedClient padded(port);
    padded.sendall("  spaced out\r\n");
    EXPECT_EQ(padded.recv(1024), "SPACED OUT") << "strip() takes whitespace off both ends";
}

// The threaded variant: each client is answered (after the slow task) while
// another is still being served; a silent client holding one worker proves it.
TEST(Seeds, UpperSlowServesClientsAtOnce) {
    TempDir dir;
    auto host = start_seeds(dir, [](ConfigBuilder &c) {
        c.service("upper_slow", "socketserver.upper_slow").threads(4, 4).setting("delay_ms", "300");
    });
    const auto port = host->port("upper_slow");

    SeedClient silent(port); // its handler waits in recv(1024)
    std::vector<std::string> replies(3);
    std::vector<std::thread> clients;
    for (auto &reply : replies)
        clients.emplace_back([&reply, port] {
            try {
                reply = hello_server(port);
            } catch (const std::exception &e) {
                reply = e.what();
            }
        });
    for (auto &client : clients)
        client.join();
    for (const auto &reply : replies)
        EXPECT_EQ(reply, "HELLO, SERVER!");

    silent.sendall("Hello, Server!");
    EXPECT_EQ(silent.recv(1024), "HELLO, SERVER!");
}

TEST(Seeds, UpperSlowRefusesADelayThatIsNotANumber) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("socketserver")}));
    config.service("upper_slow", "socketserver.upper_slow").setting("delay_ms", "2s");
    PorticoProcess host(dir, config.yaml());
    EXPECT_FALSE(host.wait_ready());
    EXPECT_TRUE(host.wait_for_log("delay_ms: '2s' is not a whole number of milliseconds", 5s)) << host.log_text();
}

TEST(Seeds, UpperLineReadsOneLineAndAnswersWithoutANewline) {
    TempDir dir;
    auto host = start_seeds(dir, [](ConfigBuilder &c) { c.service("upper_line", "socketserver.upper_line"); });

    SeedClient client(host->port("upper_line"));
    client.sendall("Hello, Server!\n");
    EXPECT_EQ(client.recv(1024), "HELLO, SERVER!");
    EXPECT_EQ(client.recv(1024), "");
}

// The ThreadingMixIn example's client(ip, port, message): sendall, one recv(1024).
std::string threaded_client(std::uint16_t port, const std::string &message) {
    SeedClient client(port);
    client.sendall(message);
    return client.recv(1024);
}

// "<thread name>: <message>"; Portico's worker is named "<service>:<n>" where Python's is "Thread-<n>".
void expect_thread_reply(const std::string &reply, const std::string &message) {
    static const std::regex name(R"(^threaded_tcp:[0-9]+: )");
    EXPECT_TRUE(std::regex_search(reply, name)) << reply;
    EXPECT_TRUE(reply.ends_with(": " + message)) << reply;
}

TEST(Seeds, ThreadnameOnceAnswersTheThreadingExampleClients) {
    TempDir dir;
    auto host = start_seeds(
        dir, [](ConfigBuilder &c) { c.service("threaded_tcp", "socketserver.threadname_once").threads(2, 8); });
    const auto port = host->port("threaded_tcp");

    for (const std::string message : {"Hello World 1", "Hello World 2", "Hello World 3"})
        expect_thread_reply(threaded_client(port, message), message);
}

TEST(Seeds, ThreadnameOnceAnswersThreeClientsAtOnce) {
    TempDir dir;
    auto host = start_seeds(
        dir, [](ConfigBuilder &c) { c.service("threaded_tcp", "socketserver.threadname_once").threads(3, 8); });
    const auto port = host->port("threaded_tcp");

    std::vector<std::string> replies(3);
    std::vector<std::thread> clients;
    for (std::size_t i = 0; i < replies.size(); ++i)
        clients.emplace_back([&replies, i, port] {
            try {
                replies[i] = threaded_client(port, "Hello World " + std::to_string(i + 1));
            } catch (const std::exception &e) {
                replies[i] = e.what();
            }
        });
    for (auto &client : clients)
        client.join();
    for (std::size_t i = 0; i < replies.size(); ++i)
        expect_thread_reply(replies[i], "Hello World " + std::to_string(i + 1));
}

TEST(Seeds, UdpUpperStripsAndUpperCasesADatagram) {
    TempDir dir;
    auto host = start_seeds(dir, [](ConfigBuilder &c) {
        c.service("udp_upper_strip", "socketserver.udp_upper").option("protocol", "udp");
    });

    UdpClient client(host->port("udp_upper_strip"));
    EXPECT_EQ(client.request("Hello, Server!"), "HELLO, SERVER!");
    EXPECT_EQ(client.request(" hello again\n"), "HELLO AGAIN");
}

// The interactive example, once on a plain TCPServer (mode single) and once
// on ThreadingTCPServer (mode threads, two clients taking turns).
class SeedsInteractive : public ::testing::TestWithParam<std::string> {};

TEST_P(SeedsInteractive, UpperLoopAnswersEveryMessageUntilTheClientCloses) {
    TempDir dir;
    auto host = start_seeds(
        dir, [](ConfigBuilder &c) { serve_in(c.service("upper_loop", "socketserver.upper_loop"), GetParam()); });
    const auto port = host->port("upper_loop");

    SeedClient first(port);
    for (const std::string message : {"hello", "how are you", "bye"}) {
        first.sendall(message);
        EXPECT_EQ(first.recv(1024), upper_cased(message));
    }
    if (GetParam() == "threads") {
        SeedClient second(port);
        second.sendall("second client");
        EXPECT_EQ(second.recv(1024), "SECOND CLIENT");
        first.sendall("still here");
        EXPECT_EQ(first.recv(1024), "STILL HERE");
    }
}

INSTANTIATE_TEST_SUITE_P(Modes, SeedsInteractive, ::testing::Values("single", "threads"),
                         [](const auto &info) { return info.param; });

TEST(Seeds, ChatRelayPassesWhatArrivedToEveryOtherMember) {
    TempDir dir;
    auto host = start_seeds(dir, [](ConfigBuilder &c) { c.service("chat_relay", "chat.relay").threads(4, 8); });
    const auto port = host->port("chat_relay");

    SeedClient silent(port); // connects and says nothing: it must hold up no one
    SeedClient talker(port);
    SeedClient listener(port);
    for (const SeedClient *member : {&silent, &talker, &listener})
        ASSERT_TRUE(
            host->wait_for_log_line({"127.0.0.1:" + std::to_string(member->local_port()), "joined the room"}, 5s))
            << "member on port " << member->local_port() << " never joined";

    talker.sendall("Hello from the talker");
    EXPECT_EQ(listener.recv(1024), "Hello from the talker");
    EXPECT_EQ(silent.recv(1024), "Hello from the talker");

    silent.sendall("late but here");
    EXPECT_EQ(listener.recv(1024), "late but here");
    EXPECT_EQ(talker.recv(1024), "late but here") << "the sender never gets its own bytes back";
}

// The BaseRequestHandler echo and its client (send b'Hello', recv(8192)) on
// TCPServer, ThreadingTCPServer, ForkingTCPServer and Portico's event loops.
class SeedsEcho : public ::testing::TestWithParam<std::string> {};

TEST_P(SeedsEcho, EchoSendsBackWhatArrived) {
    TempDir dir;
    auto host = start_seeds(dir, [](ConfigBuilder &c) { serve_in(c.service("echo", "echo.echo"), GetParam()); });

    SeedClient client(host->port("echo"));
    client.sendall("Hello");
    EXPECT_EQ(client.recv(8192), "Hello");
}

INSTANTIATE_TEST_SUITE_P(Modes, SeedsEcho, ::testing::Values("single", "threads", "process", "events"),
                         [](const auto &info) { return info.param; });

TEST(Seeds, EchoLinesSendsEachLineBackAndTheLastOneWithoutNewline) {
    TempDir dir;
    auto host = start_seeds(dir, [](ConfigBuilder &c) { c.service("echo_lines", "socketserver.echo_lines"); });

    TcpClient client(host->port("echo_lines"));
    client.send("first line\nsecond");
    EXPECT_EQ(client.read_line(), "first line\n");
    client.send(" half\n");
    EXPECT_EQ(client.read_line(), "second half\n");
    client.send("no newline at the end");
    client.shutdown_write();
    EXPECT_EQ(client.read_until_eof(), "no newline at the end");
}

TEST(Seeds, EchoLinesClosesASilentClientAtItsReadTimeout) {
    TempDir dir;
    auto host = start_seeds(
        dir, [](ConfigBuilder &c) { c.service("echo_lines", "socketserver.echo_lines").option("read_timeout", "1s"); });

    TcpClient silent(host->port("echo_lines"));
    EXPECT_EQ(silent.read_until_closed(10s), "") << "the handler's timeout ends the connection";
    EXPECT_TRUE(host->wait_for_log_line({peer_of(silent), "read timed out"}, 5s)) << host->log_text();
}

// The ThreadingMixIn example's client loop, as a Python program run unchanged.
constexpr const char *kThreadedClientPy = R"PY(
import socket, sys

def client(ip, port, message):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect((ip, port))
    try:
        sock.sendall(message)
        response = sock.recv(1024)
        print("Received: {}".format(response.decode()))
    finally:
        sock.close()

port = int(sys.argv[1])
for n in (1, 2, 3):
    client("127.0.0.1", port, "Hello World {}".format(n).encode())
)PY";

TEST(Seeds, APythonSocketserverClientWorksUnchanged) {
    TempDir dir;
    auto host = start_seeds(
        dir, [](ConfigBuilder &c) { c.service("threaded_tcp", "socketserver.threadname_once").threads(2, 8); });
    const auto script = dir.write_file("threaded_client.py", kThreadedClientPy);

    const ToolResult run = run_tool(require_tool("python3", "python3"),
                                    {script.string(), std::to_string(host->port("threaded_tcp"))}, 30s);
    ASSERT_EQ(run.status, ExitStatus::exited(0)) << run.describe();
    const std::regex expected(R"(Received: threaded_tcp:[0-9]+: Hello World 1
Received: threaded_tcp:[0-9]+: Hello World 2
Received: threaded_tcp:[0-9]+: Hello World 3
)");
    EXPECT_TRUE(std::regex_match(run.output, expected)) << run.output;
}

} // namespace
} // namespace portico::test
