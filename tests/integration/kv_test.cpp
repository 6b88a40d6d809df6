// kv_test.cpp — the kv plugin from a Redis user's chair: Debian's redis-cli
// and redis-benchmark against it (every command family, Redis's reply and
// error texts, expiry, KEYS patterns, the default benchmark run), raw RESP
// for pipelining and bad input, and keys of every type surviving a hot reload.
#include "harness/ConfigBuilder.h"
#include "harness/Deadline.h"
#include "harness/ExternalTool.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>

#include <csignal>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace portico::test {
namespace {

// Mode threads by default; mode events, as config/portico.yaml serves kv,
// for redis-benchmark's 50 concurrent clients.
std::unique_ptr<PorticoProcess> start_kv(const TempDir &dir, bool events = false) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("kv")}));
    auto &service = config.service("kv", "kv.kv");
    if (events)
        service.events(2);
    else
        service.threads(2, 32);
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

// redis-cli's lines sorted, for replies whose order Redis leaves open
// (SMEMBERS, HGETALL pairs as "field=value", KEYS).
std::vector<std::string> sorted_lines(const std::string &text, bool pairs = false) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (pairs) {
            std::string value;
            std::getline(in, value);
            line += "=" + value;
        }
        lines.push_back(line);
    }
    std::sort(lines.begin(), lines.end());
    return lines;
}

using Lines = std::vector<std::string>;

// Reads one RESP reply line (with its CRLF) from a raw connection.
std::string reply_line(TcpClient &client) {
    return client.read_line().value_or("<EOF>");
}

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
    EXPECT_TRUE(wait_until(
        [&] {
            return redis_cli(port, {"GET", "short"}).empty();
        },
        10s))
        << "a PX 150 key must expire";
    EXPECT_EQ(redis_cli(port, {"TTL", "short"}), "-2");
    EXPECT_EQ(redis_cli(port, {"DBSIZE"}), "1");
    EXPECT_EQ(redis_cli(port, {"SET", "k", "v", "EX", "0"}), "ERR invalid expire time in 'set' command");
    EXPECT_EQ(redis_cli(port, {"SET", "k", "v", "EX", "soon"}), "ERR value is not an integer or out of range");
    EXPECT_EQ(redis_cli(port, {"SET", "k", "v", "EX"}), "ERR syntax error");
    EXPECT_EQ(redis_cli(port, {"SET", "k", "v", "NX", "XX"}), "ERR syntax error");
}

TEST(Kv, PexpireTtlAndPersist) {
    TempDir dir;
    auto host = start_kv(dir);
    const auto port = host->port("kv");

    EXPECT_EQ(redis_cli(port, {"RPUSH", "brief", "a", "b"}), "2");
    EXPECT_EQ(redis_cli(port, {"PEXPIRE", "brief", "300"}), "1");
    EXPECT_TRUE(wait_until(
        [&] {
            return redis_cli(port, {"EXISTS", "brief"}) == "0";
        },
        10s))
        << "a list with PEXPIRE 300 must expire";
    EXPECT_EQ(redis_cli(port, {"TTL", "brief"}), "-2");
    EXPECT_EQ(redis_cli(port, {"LLEN", "brief"}), "0");
    EXPECT_EQ(redis_cli(port, {"PEXPIRE", "brief", "300"}), "0") << "no key, nothing to expire";

    EXPECT_EQ(redis_cli(port, {"SET", "k", "v"}), "OK");
    EXPECT_EQ(redis_cli(port, {"TTL", "k"}), "-1");
    EXPECT_EQ(redis_cli(port, {"EXPIRE", "k", "1000"}), "1");
    const long long pttl = std::stoll(redis_cli(port, {"PTTL", "k"}));
    EXPECT_GT(pttl, 0);
    EXPECT_LE(pttl, 1'000'000);
    EXPECT_EQ(redis_cli(port, {"EXPIRE", "k", "5000", "GT"}), "1");
    EXPECT_EQ(redis_cli(port, {"EXPIRE", "k", "10", "NX"}), "0");
    EXPECT_EQ(redis_cli(port, {"EXPIRE", "k", "10", "NX", "XX"}),
              "ERR NX and XX, GT or LT options at the same time are not compatible");
    EXPECT_EQ(redis_cli(port, {"EXPIRE", "k", "10", "FOO"}), "ERR Unsupported option FOO");
    EXPECT_EQ(redis_cli(port, {"EXPIRE", "k", "ten"}), "ERR value is not an integer or out of range");
    EXPECT_EQ(redis_cli(port, {"PERSIST", "k"}), "1");
    EXPECT_EQ(redis_cli(port, {"PERSIST", "k"}), "0");
    EXPECT_EQ(redis_cli(port, {"TTL", "k"}), "-1");
    EXPECT_EQ(redis_cli(port, {"EXPIRE", "k", "-1"}), "1") << "a time in the past deletes the key";
    EXPECT_EQ(redis_cli(port, {"GET", "k"}), "");
}

TEST(Kv, ListsSetsHashesAndSortedSets) {
    TempDir dir;
    auto host = start_kv(dir);
    const auto port = host->port("kv");

    // Lists
    EXPECT_EQ(redis_cli(port, {"LPUSH", "l", "a", "b", "c"}), "3");
    EXPECT_EQ(redis_cli(port, {"RPUSH", "l", "x", "y"}), "5");
    EXPECT_EQ(redis_cli(port, {"LRANGE", "l", "0", "-1"}), "c\nb\na\nx\ny");
    EXPECT_EQ(redis_cli(port, {"LRANGE", "l", "-2", "100"}), "x\ny");
    EXPECT_EQ(redis_cli(port, {"LRANGE", "l", "3", "1"}), "");
    EXPECT_EQ(redis_cli(port, {"LLEN", "l"}), "5");
    EXPECT_EQ(redis_cli(port, {"LPOP", "l"}), "c");
    EXPECT_EQ(redis_cli(port, {"RPOP", "l", "2"}), "y\nx");
    EXPECT_EQ(redis_cli(port, {"LPOP", "l", "10"}), "b\na");
    EXPECT_EQ(redis_cli(port, {"EXISTS", "l"}), "0") << "an emptied list is removed";
    EXPECT_EQ(redis_cli(port, {"LPOP", "l"}), "");
    EXPECT_EQ(redis_cli(port, {"LPOP", "l", "0", "1"}), "ERR wrong number of arguments for 'lpop' command");
    EXPECT_EQ(redis_cli(port, {"LPOP", "l", "-1"}), "ERR value is out of range, must be positive");
    EXPECT_EQ(redis_cli(port, {"LRANGE", "l", "a", "1"}), "ERR value is not an integer or out of range");

    // Sets
    EXPECT_EQ(redis_cli(port, {"SADD", "s", "a", "b", "a", "c"}), "3");
    EXPECT_EQ(redis_cli(port, {"SADD", "s", "c"}), "0");
    EXPECT_EQ(sorted_lines(redis_cli(port, {"SMEMBERS", "s"})), (Lines{"a", "b", "c"}));
    EXPECT_EQ(redis_cli(port, {"SISMEMBER", "s", "b"}), "1");
    EXPECT_EQ(redis_cli(port, {"SISMEMBER", "s", "z"}), "0");
    EXPECT_EQ(redis_cli(port, {"SREM", "s", "b", "z"}), "1");
    EXPECT_EQ(redis_cli(port, {"SCARD", "s"}), "2");
    const std::string popped = redis_cli(port, {"SPOP", "s"});
    EXPECT_TRUE(popped == "a" || popped == "c") << popped;
    EXPECT_EQ(redis_cli(port, {"SCARD", "s"}), "1");
    EXPECT_EQ(redis_cli(port, {"SPOP", "s", "5"}), popped == "a" ? "c" : "a");
    EXPECT_EQ(redis_cli(port, {"TYPE", "s"}), "none");
    EXPECT_EQ(redis_cli(port, {"SPOP", "s"}), "");
    EXPECT_EQ(redis_cli(port, {"SMEMBERS", "s"}), "");

    // Hashes
    EXPECT_EQ(redis_cli(port, {"HSET", "h", "f1", "v1", "f2", "v2", "f1", "v3"}), "2");
    EXPECT_EQ(redis_cli(port, {"HSET", "h", "f2", "new"}), "0");
    EXPECT_EQ(redis_cli(port, {"HGET", "h", "f1"}), "v3");
    EXPECT_EQ(redis_cli(port, {"HGET", "h", "nope"}), "");
    EXPECT_EQ(sorted_lines(redis_cli(port, {"HGETALL", "h"}), true), (Lines{"f1=v3", "f2=new"}));
    EXPECT_EQ(redis_cli(port, {"HLEN", "h"}), "2");
    EXPECT_EQ(redis_cli(port, {"HDEL", "h", "f1", "nope"}), "1");
    EXPECT_EQ(redis_cli(port, {"HSET", "h", "f3"}), "ERR wrong number of arguments for 'hset' command");
    EXPECT_EQ(redis_cli(port, {"HSET", "h", "f3", "v", "f4"}), "ERR wrong number of arguments for 'hset' command");

    // Sorted sets
    EXPECT_EQ(redis_cli(port, {"ZADD", "z", "1", "one", "0.1", "tenth", "inf", "top", "-2", "neg"}), "4");
    EXPECT_EQ(redis_cli(port, {"ZRANGE", "z", "0", "-1"}), "neg\ntenth\none\ntop");
    EXPECT_EQ(redis_cli(port, {"ZRANGE", "z", "0", "1", "WITHSCORES"}), "neg\n-2\ntenth\n0.10000000000000001");
    EXPECT_EQ(redis_cli(port, {"ZRANGE", "z", "0", "0", "REV", "WITHSCORES"}), "top\ninf");
    EXPECT_EQ(redis_cli(port, {"ZSCORE", "z", "one"}), "1");
    EXPECT_EQ(redis_cli(port, {"ZSCORE", "z", "nope"}), "");
    EXPECT_EQ(redis_cli(port, {"ZCARD", "z"}), "4");
    EXPECT_EQ(redis_cli(port, {"ZADD", "z", "XX", "CH", "5", "one", "7", "absent"}), "1");
    EXPECT_EQ(redis_cli(port, {"ZADD", "z", "INCR", "2.5", "one"}), "7.5");
    EXPECT_EQ(redis_cli(port, {"ZPOPMIN", "z"}), "neg\n-2");
    EXPECT_EQ(redis_cli(port, {"ZPOPMIN", "z", "2"}), "tenth\n0.10000000000000001\none\n7.5");
    EXPECT_EQ(redis_cli(port, {"ZREM", "z", "top", "nope"}), "1");
    EXPECT_EQ(redis_cli(port, {"ZCARD", "z"}), "0");
    EXPECT_EQ(redis_cli(port, {"ZPOPMIN", "z"}), "");
    EXPECT_EQ(redis_cli(port, {"ZADD", "z", "nan", "m"}), "ERR value is not a valid float");
    EXPECT_EQ(redis_cli(port, {"ZADD", "z", "1", "m", "2"}), "ERR syntax error");
    EXPECT_EQ(redis_cli(port, {"ZADD", "z", "NX", "XX", "1", "m"}),
              "ERR XX and NX options at the same time are not compatible");
    EXPECT_EQ(redis_cli(port, {"ZADD", "z", "GT", "LT", "1", "m"}),
              "ERR GT, LT, and/or NX options at the same time are not compatible");
    EXPECT_EQ(redis_cli(port, {"ZADD", "z", "INCR", "1", "m", "2", "n"}),
              "ERR INCR option supports a single increment-element pair");
    EXPECT_EQ(redis_cli(port, {"DBSIZE"}), "1") << "only the hash is left";
}

TEST(Kv, EveryCommandOnTheWrongTypeIsAWrongtypeError) {
    TempDir dir;
    auto host = start_kv(dir);
    const auto port = host->port("kv");
    const std::string wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value";

    EXPECT_EQ(redis_cli(port, {"SET", "str", "v"}), "OK");
    EXPECT_EQ(redis_cli(port, {"RPUSH", "list", "v"}), "1");
    for (const std::vector<std::string> &command : std::vector<std::vector<std::string>>{{"LPUSH", "str", "a"},
                                                                                         {"RPOP", "str"},
                                                                                         {"LRANGE", "str", "0", "1"},
                                                                                         {"LLEN", "str"},
                                                                                         {"SADD", "str", "a"},
                                                                                         {"SMEMBERS", "str"},
                                                                                         {"SISMEMBER", "str", "a"},
                                                                                         {"SPOP", "str"},
                                                                                         {"HSET", "str", "f", "v"},
                                                                                         {"HGET", "str", "f"},
                                                                                         {"HGETALL", "str"},
                                                                                         {"HLEN", "str"},
                                                                                         {"ZADD", "str", "1", "m"},
                                                                                         {"ZRANGE", "str", "0", "1"},
                                                                                         {"ZPOPMIN", "str"},
                                                                                         {"ZSCORE", "str", "m"},
                                                                                         {"GET", "list"},
                                                                                         {"INCR", "list"},
                                                                                         {"DECRBY", "list", "2"}})
        EXPECT_EQ(redis_cli(port, command), wrongtype) << command[0] << " " << command[1];
    EXPECT_EQ(redis_cli(port, {"MGET", "str", "list"}), "v") << "MGET reads a list as nil";
    EXPECT_EQ(redis_cli(port, {"TYPE", "str"}), "string");
    EXPECT_EQ(redis_cli(port, {"TYPE", "list"}), "list");
    EXPECT_EQ(redis_cli(port, {"SET", "list", "now a string"}), "OK") << "SET replaces a value of any type";
    EXPECT_EQ(redis_cli(port, {"GET", "list"}), "now a string");
}

TEST(Kv, KeysMatchesGlobPatterns) {
    TempDir dir;
    auto host = start_kv(dir);
    const auto port = host->port("kv");

    EXPECT_EQ(redis_cli(port, {"MSET", "hello", "1", "hallo", "1", "hxllo", "1", "heeello", "1", "h*llo", "1", "user:1",
                               "1", "user:22", "1"}),
              "OK");
    EXPECT_EQ(redis_cli(port, {"RPUSH", "user:list", "a"}), "1");
    EXPECT_EQ(sorted_lines(redis_cli(port, {"KEYS", "*"})),
              (Lines{"h*llo", "hallo", "heeello", "hello", "hxllo", "user:1", "user:22", "user:list"}));
    EXPECT_EQ(sorted_lines(redis_cli(port, {"KEYS", "h?llo"})), (Lines{"h*llo", "hallo", "hello", "hxllo"}));
    EXPECT_EQ(sorted_lines(redis_cli(port, {"KEYS", "h*llo"})), (Lines{"h*llo", "hallo", "heeello", "hello", "hxllo"}));
    EXPECT_EQ(sorted_lines(redis_cli(port, {"KEYS", "h[ae]llo"})), (Lines{"hallo", "hello"}));
    EXPECT_EQ(sorted_lines(redis_cli(port, {"KEYS", "h[^e]llo"})), (Lines{"h*llo", "hallo", "hxllo"}));
    EXPECT_EQ(sorted_lines(redis_cli(port, {"KEYS", "h[a-e]llo"})), (Lines{"hallo", "hello"}));
    EXPECT_EQ(redis_cli(port, {"KEYS", "h\\*llo"}), "h*llo");
    EXPECT_EQ(sorted_lines(redis_cli(port, {"KEYS", "user:?*"})), (Lines{"user:1", "user:22", "user:list"}));
    EXPECT_EQ(redis_cli(port, {"KEYS", "nothing*"}), "");
    EXPECT_EQ(redis_cli(port, {"KEYS"}), "ERR wrong number of arguments for 'keys' command");
}

TEST(Kv, InfoConfigAndCommandAnswerLikeRedis) {
    TempDir dir;
    auto host = start_kv(dir);
    const auto port = host->port("kv");

    EXPECT_EQ(redis_cli(port, {"SET", "a", "1", "EX", "100"}), "OK");
    EXPECT_EQ(redis_cli(port, {"SET", "b", "1"}), "OK");
    const std::string info = redis_cli(port, {"INFO"});
    EXPECT_EQ(info.rfind("# Server", 0), 0u) << info;
    EXPECT_NE(info.find("redis_version:7."), std::string::npos) << info;
    EXPECT_NE(info.find("redis_mode:standalone"), std::string::npos) << info;
    EXPECT_NE(info.find("# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0"), std::string::npos) << info;
    const std::string keyspace = redis_cli(port, {"INFO", "keyspace"});
    EXPECT_EQ(keyspace, "# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0") << "redis-cli prints INFO's CRLFs as they are";
    EXPECT_EQ(redis_cli(port, {"CONFIG", "GET", "save"}), "save") << "the empty value prints as an empty line";
    EXPECT_EQ(redis_cli(port, {"CONFIG", "GET", "appendonly"}), "appendonly\nno");
    EXPECT_EQ(redis_cli(port, {"CONFIG", "GET", "nosuch"}), "");
    EXPECT_EQ(redis_cli(port, {"CONFIG", "NOPE"}), "ERR unknown subcommand 'NOPE'. Try CONFIG HELP.");
    EXPECT_EQ(redis_cli(port, {"CONFIG"}), "ERR wrong number of arguments for 'config' command");
    EXPECT_EQ(redis_cli(port, {"COMMAND", "INFO", "get"}), "get\n2\nreadonly\n1\n1\n1");
    EXPECT_EQ(redis_cli(port, {"SELECT", "0"}), "OK");
    EXPECT_EQ(redis_cli(port, {"SELECT", "1"}), "ERR DB index is out of range");
    EXPECT_EQ(redis_cli(port, {"PING", "a", "b"}), "ERR wrong number of arguments for 'ping' command");
    EXPECT_EQ(redis_cli(port, {"FOO", "bar", "baz"}),
              "ERR unknown command 'FOO', with args beginning with: 'bar' 'baz'");
}

TEST(Kv, PipelinedRespAndInlineCommandsAreAnsweredInOrder) {
    TempDir dir;
    auto host = start_kv(dir);

    TcpClient client(host->port("kv"));
    std::string batch;
    for (int i = 0; i < 3; ++i)
        batch += "*1\r\n$4\r\nPING\r\n";
    batch += "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n"; // CRLF inside a value
    batch += "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
    batch += "INCR n\r\nGET n\r\n";   // inline, as telnet users type it
    client.send(batch.substr(0, 37)); // split mid-command: the rest comes later
    std::this_thread::sleep_for(50ms);
    client.send(batch.substr(37));
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(reply_line(client), "+PONG\r\n");
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
        for (int i = 0; i < 4096; ++i)
            noise += static_cast<char>((i * 7919) % 251);
        client.send(noise);
        client.shutdown_write();
        const auto rest = client.read_until_closed();
        EXPECT_TRUE(rest) << "garbage must end in an answer and a close, not a hang";
    }
    EXPECT_TRUE(host->running());
    EXPECT_EQ(redis_cli(port, {"PING"}), "PONG") << "the server still answers after bad input";
}

// The tests `redis-benchmark -q` runs when given no -t, in its order.
const char *const default_benchmark_tests[] = {
    "PING_INLINE",
    "PING_MBULK",
    "SET",
    "GET",
    "INCR",
    "LPUSH",
    "RPUSH",
    "LPOP",
    "RPOP",
    "SADD",
    "HSET",
    "SPOP",
    "ZADD",
    "ZPOPMIN",
    "LPUSH (needed to benchmark LRANGE)",
    "LRANGE_100 (first 100 elements)",
    "LRANGE_300 (first 300 elements)",
    "LRANGE_500 (first 500 elements)",
    "LRANGE_600 (first 600 elements)",
    "MSET (10 keys)",
};

// True when the output has a result line "<test>: <n> requests per second"
// (not only the progress lines -q also prints, "<test>: rps=...").
bool has_result_line(const std::string &output, const std::string &test) {
    const std::string prefix = test + ": ";
    for (auto pos = output.find(prefix); pos != std::string::npos; pos = output.find(prefix, pos + 1)) {
        const bool line_start =
            pos == 0 || output[pos - 1] == '\n' || output[pos - 1] == '\r' || output[pos - 1] == ' ';
        const std::size_t value = pos + prefix.size();
        if (!line_start || value >= output.size() || !std::isdigit(static_cast<unsigned char>(output[value]))) continue;
        const std::size_t end = output.find_first_of("\r\n", value);
        if (output.substr(value, end - value).find(" requests per second") != std::string::npos) return true;
    }
    return false;
}

// The reproduction: the default run (every test, no -t, 50 clients),
// plain and pipelined, must finish with exit 0 and a result for each test.
TEST(Kv, DefaultRedisBenchmarkRunCompletesEveryTest) {
    TempDir dir;
    auto host = start_kv(dir, true);
    const auto bench = require_tool("redis-benchmark", "redis-tools");
    const std::string port = std::to_string(host->port("kv"));

    for (const std::vector<std::string> &extra : {std::vector<std::string>{}, std::vector<std::string>{"-P", "16"}}) {
        std::vector<std::string> args{"-h", "127.0.0.1", "-p", port, "-n", "2000", "-q"};
        args.insert(args.end(), extra.begin(), extra.end());
        const ToolResult result = run_tool(bench, args, 120s);
        ASSERT_EQ(result.status, ExitStatus::exited(0)) << result.describe();
        for (const char *test : default_benchmark_tests)
            EXPECT_TRUE(has_result_line(result.output, test)) << test << " has no result in " << result.describe();
        for (const char *bad : {"ERR", "rror", "WARNING"})
            EXPECT_EQ(result.output.find(bad), std::string::npos) << result.describe();
    }
    EXPECT_TRUE(host->running());
    EXPECT_EQ(redis_cli(host->port("kv"), {"TYPE", "mylist"}), "list") << "LPUSH and LRANGE ran on a real list";
}

TEST(Kv, KeysOfEveryTypeSurviveAHotReloadOfThePlugin) {
    TempDir dir;
    auto host = start_kv(dir);
    const auto port = host->port("kv");

    EXPECT_EQ(redis_cli(port, {"MSET", "alpha", "1", "beta", "two words"}), "OK");
    const auto expiry_set = std::chrono::steady_clock::now();
    EXPECT_EQ(redis_cli(port, {"SET", "ttl", "v", "EX", "100"}), "OK");
    EXPECT_EQ(redis_cli(port, {"SET", "gone", "v", "PX", "1"}), "OK");
    EXPECT_EQ(redis_cli(port, {"RPUSH", "list", "a", "b", "a"}), "3");
    EXPECT_EQ(redis_cli(port, {"SADD", "set", "x", "y"}), "2");
    EXPECT_EQ(redis_cli(port, {"HSET", "hash", "f", "v", "g", "w"}), "2");
    EXPECT_EQ(redis_cli(port, {"EXPIRE", "hash", "200"}), "1");
    EXPECT_EQ(redis_cli(port, {"ZADD", "zset", "0.1", "tenth", "-inf", "low", "2", "two"}), "3");
    TcpClient old_session(port);
    old_session.send("PING\r\n");
    ASSERT_EQ(reply_line(old_session), "+PONG\r\n");

    // Drop the new build in by rename, as a deploy would, then ask for a reload.
    const auto plugin_dir = dir.path() / "plugins";
    std::filesystem::copy_file(test_plugin("kv_next"), plugin_dir / "kv.so.partial");
    std::filesystem::rename(plugin_dir / "kv.so.partial", plugin_dir / "kv.so");
    host->send_signal(SIGHUP);
    ASSERT_TRUE(host->wait_for_log_line({"service 'kv' now uses kv 1.1.1-next"}, 10s));

    EXPECT_EQ(redis_cli(port, {"GET", "alpha"}), "1");
    EXPECT_EQ(redis_cli(port, {"GET", "beta"}), "two words");
    // The remaining lifetime carries over: at most what was set, and no more
    // gone than the time that has passed (however slow this machine is).
    const long long elapsed_s =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - expiry_set).count() + 1;
    const auto expect_ttl = [&](const std::string &key, long long set) {
        const long long ttl = std::stoll(redis_cli(port, {"TTL", key}));
        EXPECT_LE(ttl, set) << key;
        EXPECT_GE(ttl, set - elapsed_s) << key << ": lost more lifetime than the " << elapsed_s << " s that passed";
    };
    expect_ttl("ttl", 100);
    EXPECT_EQ(redis_cli(port, {"LRANGE", "list", "0", "-1"}), "a\nb\na");
    EXPECT_EQ(sorted_lines(redis_cli(port, {"SMEMBERS", "set"})), (Lines{"x", "y"}));
    EXPECT_EQ(sorted_lines(redis_cli(port, {"HGETALL", "hash"}), true), (Lines{"f=v", "g=w"}));
    expect_ttl("hash", 200);
    EXPECT_EQ(redis_cli(port, {"ZRANGE", "zset", "0", "-1", "WITHSCORES"}),
              "low\n-inf\ntenth\n0.10000000000000001\ntwo\n2");
    EXPECT_EQ(redis_cli(port, {"TYPE", "zset"}), "zset");
    EXPECT_EQ(redis_cli(port, {"DBSIZE"}), "7") << "an expired key is not handed over";
    EXPECT_TRUE(host->wait_for_log_line({"kv", "took over 7 key(s)"}, 5s));

    // A session still on the old version must not write into the old store.
    old_session.send("SET alpha stale\r\n");
    EXPECT_EQ(reply_line(old_session), "-ERR the kv plugin was reloaded: reconnect to reach the new version\r\n");
    EXPECT_EQ(redis_cli(port, {"GET", "alpha"}), "1");
}

} // namespace
} // namespace portico::test
