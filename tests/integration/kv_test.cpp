// kv_test.cpp — the kv plugin from a Redis user's chair: Debian's redis-cli
// and redis-benchmark against it, raw RESP for pipelining and bad input, and
// keys that survive a hot reload of the plugin.
#include "harness/ConfigBuilder.h"
#include "harness/ExternalTool.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

#include <csignal>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace portico::test {
namespace {

std::unique_ptr<PorticoProcess> start_kv(const TempDir &dir) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("kv")}));
    config.service("kv", "kv.kv").threads(2, 32);
    auto host = std::make_unique<PorticoProcess>(dir, config.yaml());
    if (!host->wait_ready()) throw std::runtime_error("portico did not become ready:\n" + host->log_text());
    return host;
}

// Runs redis-cli against the port; its output without trailing newlines.
std::string redis_cli(std::uint16_t port, const std::vector<std::string> &command) {
    static const auto cli = require_tool("redis-cli", "redis-tools");
    std::vector<std::string> args{"-h", "127.0.0.1", "-p", std::to_string(port)};
    args.insert(args.end(), command.begin(), command.end());
    const ToolResult result = run_tool(cli, args, 10s);
    if (result.status != ExitStatus::exited(0)) throw std::runtime_error(result.describe());
    // redis-cli ends an error reply with a blank line, and the harness merges
    // stdout with stderr; what the test compares is the reply text alone.
    std::string out = result.output;
    const auto not_space = [](unsigned char c) { return !std::isspace(c); };
    out.erase(out.begin(), std::find_if(out.begin(), out.end(), not_space));
    out.erase(std::find_if(out.rbegin(), out.rend(), not_space).base(), out.end());
    return out;
}

// Reads one RESP reply line (with its CRLF) from a raw connection.
std::string reply_line(TcpClient &client) { return client.read_line().value_or("<EOF>"); }

TEST(Kv, RedisCliCommands) {
    TempDir dir;
    auto host = start_kv(dir);
    const auto port = host->port("kv");

    EXPECT_EQ(redis_cli(port, {"PING"}), "PONG");
    EXPECT_EQ(redis_cli(port, {"ECHO", "hello world"}), "hello world");
    EXPECT_EQ(redis_cli(port, {"SET", "greeting", "hi there"}), "OK");
    EXPECT_EQ(redis_cli(port, {"GET", "greeting"}), "hi there");
    EXPECT_EQ(redis_cli(port, {"GET", "missing"}), "");
    EXPECT_EQ(redis_cli(port, {"INCR", "counter"}), "1");
    EXPECT_EQ(redis_cli(port, {"INCR", "counter"}), "2");
    EXPECT_EQ(redis_cli(port, {"INCR", "greeting"}), "ERR value is not an integer or out of range");
    EXPECT_EQ(redis_cli(port, {"MSET", "a", "1", "b", "2"}), "OK");
    EXPECT_EQ(redis_cli(port, {"MGET", "a", "b", "nope"}), "1\n2") << "nil prints as an empty line";
    EXPECT_EQ(redis_cli(port, {"EXISTS", "a", "b", "nope", "a"}), "3");
    EXPECT_EQ(redis_cli(port, {"DBSIZE"}), "4");
    EXPECT_EQ(redis_cli(port, {"DEL", "a", "nope"}), "1");
    EXPECT_EQ(redis_cli(port, {"EXISTS", "a"}), "0");
    EXPECT_EQ(redis_cli(port, {"SET", "greeting", "x", "NX"}), "");
    EXPECT_EQ(redis_cli(port, {"SET", "fresh", "x", "XX"}), "");
    EXPECT_EQ(redis_cli(port, {"FLUSHALL"}), "OK");
    EXPECT_EQ(redis_cli(port, {"DBSIZE"}), "0");
    EXPECT_EQ(redis_cli(port, {"NOSUCHCMD", "x"}).rfind("ERR unknown command 'NOSUCHCMD'", 0), 0u);
    EXPECT_EQ(redis_cli(port, {"GET"}), "ERR wrong number of arguments for 'get' command");
    EXPECT_NE(redis_cli(port, {"COMMAND", "COUNT"}), "0");
}

TEST(Kv, SetWithExAndPxExpires) {
    TempDir dir;
    auto host = start_kv(dir);
    const auto port = host->port("kv");

    EXPECT_EQ(redis_cli(port, {"SET", "long", "v", "EX", "100"}), "OK");
    EXPECT_EQ(redis_cli(port, {"TTL", "long"}), "100");
    EXPECT_EQ(redis_cli(port, {"SET", "short", "v", "PX", "150"}), "OK");
    EXPECT_EQ(redis_cli(port, {"GET", "short"}), "v");
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(redis_cli(port, {"GET", "short"}), "") << "a PX 150 key must be gone after 300 ms";
    EXPECT_EQ(redis_cli(port, {"TTL", "short"}), "-2");
    EXPECT_EQ(redis_cli(port, {"DBSIZE"}), "1");
    EXPECT_EQ(redis_cli(port, {"SET", "k", "v", "EX", "0"}), "ERR invalid expire time in 'set' command");
    EXPECT_EQ(redis_cli(port, {"SET", "k", "v", "EX"}), "ERR syntax error");
}

TEST(Kv, PipelinedRespAndInlineCommandsAreAnsweredInOrder) {
    TempDir dir;
    auto host = start_kv(dir);

    TcpClient client(host->port("kv"));
    std::string batch;
    for (int i = 0; i < 3; ++i) batch += "*1\r\n$4\r\nPING\r\n";
    batch += "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n"; // CRLF inside a value
    batch += "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
    batch += "INCR n\r\nGET n\r\n"; // inline, as telnet users type it
    client.send(batch.substr(0, 37)); // split mid-command: the rest comes later
    std::this_thread::sleep_for(50ms);
    client.send(batch.substr(37));
    for (int i = 0; i < 3; ++i) EXPECT_EQ(reply_line(client), "+PONG\r\n");
    EXPECT_EQ(reply_line(client), "+OK\r\n");
    EXPECT_EQ(reply_line(client), "$5\r\n");
    EXPECT_EQ(reply_line(client), "va\r\n");
    EXPECT_EQ(reply_line(client), "l\r\n");
    EXPECT_EQ(reply_line(client), ":1\r\n");
    EXPECT_EQ(reply_line(client), "$1\r\n");
    EXPECT_EQ(reply_line(client), "1\r\n");
}

TEST(Kv, MalformedInputIsAnsweredWithAnErrorAndTheServerStaysUp) {
    TempDir dir;
    auto host = start_kv(dir);
    const auto port = host->port("kv");

    {
        TcpClient client(port);
        client.send("*1\r\n:5\r\n");
        EXPECT_EQ(reply_line(client), "-ERR Protocol error: expected '$', got ':'\r\n");
        EXPECT_TRUE(client.read_until_closed()) << "a protocol error closes the connection, as in Redis";
    }
    {
        TcpClient client(port);
        client.send("*2\r\n$3\r\nGET\r\n$-7\r\n");
        EXPECT_EQ(reply_line(client), "-ERR Protocol error: invalid bulk length\r\n");
    }
    {
        TcpClient client(port);
        client.send("*1\r\n$999999999999\r\n");
        EXPECT_EQ(reply_line(client), "-ERR Protocol error: invalid bulk length\r\n");
    }
    {
        TcpClient client(port);
        std::string noise;
        for (int i = 0; i < 4096; ++i) noise += static_cast<char>((i * 7919) % 251);
        client.send(noise);
        client.shutdown_write();
        const auto rest = client.read_until_closed();
        EXPECT_TRUE(rest) << "garbage must end in an answer and a close, not a hang";
    }
    EXPECT_TRUE(host->running());
    EXPECT_EQ(redis_cli(port, {"PING"}), "PONG") << "the server still answers after bad input";
}

TEST(Kv, RedisBenchmarkRunsWithoutErrors) {
    TempDir dir;
    auto host = start_kv(dir);
    const auto bench = require_tool("redis-benchmark", "redis-tools");
    const std::string port = std::to_string(host->port("kv"));

    for (const std::vector<std::string> &extra : {std::vector<std::string>{}, std::vector<std::string>{"-P", "16"}}) {
        std::vector<std::string> args{"-h", "127.0.0.1", "-p", port, "-t", "ping,set,get,incr,mset",
                                      "-n", "2000", "-c", "10", "-q"};
        args.insert(args.end(), extra.begin(), extra.end());
        const ToolResult result = run_tool(bench, args, 60s);
        ASSERT_EQ(result.status, ExitStatus::exited(0)) << result.describe();
        for (const char *test : {"PING_INLINE: ", "PING_MBULK: ", "SET: ", "GET: ", "INCR: ", "MSET (10 keys): "})
            EXPECT_NE(result.output.find(test), std::string::npos)
                << test << " missing from " << result.describe();
        for (const char *bad : {"ERR", "rror", "WARNING"})
            EXPECT_EQ(result.output.find(bad), std::string::npos) << result.describe();
    }
    EXPECT_TRUE(host->running());
}

TEST(Kv, KeysSurviveAHotReloadOfThePlugin) {
    TempDir dir;
    auto host = start_kv(dir);
    const auto port = host->port("kv");

    EXPECT_EQ(redis_cli(port, {"MSET", "alpha", "1", "beta", "two words"}), "OK");
    EXPECT_EQ(redis_cli(port, {"SET", "ttl", "v", "EX", "100"}), "OK");
    EXPECT_EQ(redis_cli(port, {"SET", "gone", "v", "PX", "1"}), "OK");
    TcpClient old_session(port);
    old_session.send("PING\r\n");
    ASSERT_EQ(reply_line(old_session), "+PONG\r\n");

    // Drop the new build in by rename, as a deploy would, then ask for a reload.
    const auto plugin_dir = dir.path() / "plugins";
    std::filesystem::copy_file(test_plugin("kv_next"), plugin_dir / "kv.so.partial");
    std::filesystem::rename(plugin_dir / "kv.so.partial", plugin_dir / "kv.so");
    host->send_signal(SIGHUP);
    ASSERT_TRUE(host->wait_for_log_line({"service 'kv' now uses kv 1.0.1-next"}, 10s));

    EXPECT_EQ(redis_cli(port, {"GET", "alpha"}), "1");
    EXPECT_EQ(redis_cli(port, {"GET", "beta"}), "two words");
    const std::string ttl = redis_cli(port, {"TTL", "ttl"});
    EXPECT_TRUE(ttl == "100" || ttl == "99") << "TTL after the reload: " << ttl;
    EXPECT_EQ(redis_cli(port, {"DBSIZE"}), "3") << "an expired key is not handed over";
    EXPECT_TRUE(host->wait_for_log_line({"kv", "took over 3 key(s)"}, 5s));

    // A session still on the old version must not write into the old store.
    old_session.send("SET alpha stale\r\n");
    EXPECT_EQ(reply_line(old_session), "-ERR the kv plugin was reloaded: reconnect to reach the new version\r\n");
    EXPECT_EQ(redis_cli(port, {"GET", "alpha"}), "1");
}

} // namespace
} // namespace portico::test
