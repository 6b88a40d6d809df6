// CommandsTest.cpp — the kv command layer (plugins/kv/Commands.cpp and the
// families) on an explicit clock: exact RESP replies as Redis 7.0 sends
// them, expiry at the millisecond, and all-or-nothing validation.
#include "Commands.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portico::kv {
namespace {

constexpr TimeMs t0 = 5'000'000;

class KvCommands : public ::testing::Test {
protected:
    std::string run(std::vector<std::string> words, TimeMs now = t0) {
        const Args args(words.begin(), words.end());
        std::string out;
        execute(keys_, server_, args, out, now);
        return out;
    }

    Keyspace keys_;
    const ServerInfo server_{"test", t0};
};

TEST_F(KvCommands, ExpiryIsExactToTheMillisecond) {
    EXPECT_EQ(run({"SET", "k", "v", "PX", "100"}), "+OK\r\n");
    EXPECT_EQ(run({"PTTL", "k"}, t0 + 40), ":60\r\n");
    EXPECT_EQ(run({"GET", "k"}, t0 + 99), "$1\r\nv\r\n");
    EXPECT_EQ(run({"GET", "k"}, t0 + 100), "$-1\r\n");
    EXPECT_EQ(run({"TTL", "k"}, t0 + 100), ":-2\r\n");

    EXPECT_EQ(run({"RPUSH", "l", "a"}), ":1\r\n");
    EXPECT_EQ(run({"EXPIRE", "l", "10", "XX"}), ":0\r\n") << "XX: the key has no expiry yet";
    EXPECT_EQ(run({"EXPIRE", "l", "10", "NX"}), ":1\r\n");
    EXPECT_EQ(run({"EXPIRE", "l", "5", "GT"}), ":0\r\n");
    EXPECT_EQ(run({"EXPIRE", "l", "5", "LT"}), ":1\r\n");
    EXPECT_EQ(run({"TTL", "l"}, t0 + 1499), ":4\r\n") << "TTL rounds to the nearest second";
    EXPECT_EQ(run({"PERSIST", "l"}), ":1\r\n");
    EXPECT_EQ(run({"PERSIST", "l"}), ":0\r\n");
    EXPECT_EQ(run({"LLEN", "l"}, t0 + 1'000'000), ":1\r\n");
    EXPECT_EQ(run({"PEXPIRE", "l", "-1"}), ":1\r\n") << "a past time deletes the key";
    EXPECT_EQ(run({"EXISTS", "l"}), ":0\r\n");
    EXPECT_EQ(run({"EXPIRE", "k", "9223372036854775807"}), "-ERR invalid expire time in 'expire' command\r\n");
}

TEST_F(KvCommands, WrongTypeAndArityErrorsAreRedisTexts) {
    run({"LPUSH", "list", "a"});
    const std::string wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    for (const std::vector<std::string> &command : std::vector<std::vector<std::string>>{{"GET", "list"},
                                                                                         {"INCR", "list"},
                                                                                         {"SADD", "list", "m"},
                                                                                         {"HSET", "list", "f", "v"},
                                                                                         {"ZADD", "list", "1", "m"},
                                                                                         {"ZPOPMIN", "list"}})
        EXPECT_EQ(run(command), wrongtype) << command[0];
    EXPECT_EQ(run({"MGET", "list"}), "*1\r\n$-1\r\n") << "MGET reads other types as nil";
    EXPECT_EQ(run({"SET", "list", "now a string"}), "+OK\r\n") << "SET replaces any type";
    EXPECT_EQ(run({"TYPE", "list"}), "+string\r\n");
    EXPECT_EQ(run({"hset", "h", "f"}), "-ERR wrong number of arguments for 'hset' command\r\n");
    EXPECT_EQ(run({"HSET", "h", "f", "v", "g"}), "-ERR wrong number of arguments for 'hset' command\r\n");
    EXPECT_EQ(run({"FOO", "bar", "baz"}), "-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \r\n");
    EXPECT_EQ(run({"LPOP", "x", "-1"}), "-ERR value is out of range, must be positive\r\n");
}

TEST_F(KvCommands, ZaddValidatesEveryPairBeforeChangingAnything) {
    EXPECT_EQ(run({"ZADD", "z", "1", "a", "x", "b"}), "-ERR value is not a valid float\r\n");
    EXPECT_EQ(run({"EXISTS", "z"}), ":0\r\n");
    EXPECT_EQ(run({"ZADD", "z", "1", "a", "0.1", "b", "1", "c"}), ":3\r\n");
    EXPECT_EQ(run({"ZRANGE", "z", "0", "-1", "WITHSCORES"}),
              "*6\r\n$1\r\nb\r\n$19\r\n0.10000000000000001\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nc\r\n$1\r\n1\r\n");
    EXPECT_EQ(run({"ZADD", "z", "CH", "GT", "0", "a", "2", "c"}), ":1\r\n");
    EXPECT_EQ(run({"ZADD", "z", "INCR", "5", "a"}), "$1\r\n6\r\n");
    EXPECT_EQ(run({"ZADD", "z", "NX", "INCR", "5", "a"}), "$-1\r\n");
    EXPECT_EQ(run({"ZPOPMIN", "z", "2"}), "*4\r\n$1\r\nb\r\n$19\r\n0.10000000000000001\r\n$1\r\nc\r\n$1\r\n2\r\n");
    EXPECT_EQ(run({"ZRANGE", "z", "0", "0", "REV"}), "*1\r\n$1\r\na\r\n");
    EXPECT_EQ(run({"ZPOPMIN", "z"}), "*2\r\n$1\r\na\r\n$1\r\n6\r\n");
    EXPECT_EQ(run({"EXISTS", "z"}), ":0\r\n") << "an emptied sorted set is removed";
}

TEST_F(KvCommands, ListsPopWithAndWithoutCount) {
    EXPECT_EQ(run({"RPUSH", "l", "a", "b", "c"}), ":3\r\n");
    EXPECT_EQ(run({"LRANGE", "l", "-2", "100"}), "*2\r\n$1\r\nb\r\n$1\r\nc\r\n");
    EXPECT_EQ(run({"LPOP", "l"}), "$1\r\na\r\n");
    EXPECT_EQ(run({"RPOP", "l", "5"}), "*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
    EXPECT_EQ(run({"LPOP", "l"}), "$-1\r\n");
    EXPECT_EQ(run({"LPOP", "l", "1"}), "*-1\r\n");
    EXPECT_EQ(run({"DBSIZE"}), ":0\r\n");
}

TEST_F(KvCommands, InfoAndConfigAnswerWhatTheToolsAsk) {
    run({"SET", "a", "1", "EX", "10"});
    run({"SET", "b", "1"});
    const std::string info = run({"INFO"}, t0 + 3000);
    EXPECT_NE(info.find("# Server\r\nredis_version:"), std::string::npos) << info;
    EXPECT_NE(info.find("uptime_in_seconds:3\r\n"), std::string::npos) << info;
    EXPECT_NE(info.find("\r\n\r\n# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0\r\n"), std::string::npos) << info;
    EXPECT_EQ(run({"INFO", "nosuch"}), "$0\r\n\r\n");
    EXPECT_EQ(run({"CONFIG", "GET", "save"}), "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
    EXPECT_EQ(run({"CONFIG", "GET", "appendonly"}), "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
    EXPECT_EQ(run({"CONFIG", "GET", "nosuch"}), "*0\r\n");
    EXPECT_EQ(run({"CONFIG", "GET"}), "-ERR wrong number of arguments for 'config|get' command\r\n");
}

} // namespace
} // namespace portico::kv
