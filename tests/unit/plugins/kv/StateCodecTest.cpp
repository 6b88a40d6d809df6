// StateCodecTest.cpp — the kv hot-reload hand-off (plugins/kv/StateCodec.cpp):
// every type and lifetime round-trips through PKV2, the previous version's
// PKV1 is still read, and corrupt input is refused with a reason.
#include "StateCodec.h"
#include "Resp.h"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <string>

namespace portico::kv {
namespace {

constexpr TimeMs t0 = 1'000'000;

TEST(KvStateCodec, EveryTypeAndLifetimeRoundTrips) {
    Keyspace before;
    before.assign("s", Entry{std::string("a\0b", 3), t0 + 5000});
    before.assign("l", Entry{List{"x", "y", "x"}, std::nullopt});
    before.assign("set", Entry{Set{"m1", "m2"}, std::nullopt});
    before.assign("h", Entry{Hash{{"f", "v"}, {"g", ""}}, t0 + 100});
    SortedSet z;
    z.assign("low", -std::numeric_limits<double>::infinity());
    z.assign("tenth", 0.1);
    z.assign("big", 1e300);
    before.assign("z", Entry{z, std::nullopt});
    before.assign("gone", Entry{std::string("v"), t0}); // expires at t0: not handed over

    const std::string bytes = encode_state(before, t0);
    ASSERT_EQ(bytes.substr(0, 4), "PKV2");
    Keyspace after;
    // The next version starts 2 s later: lifetimes count from its own clock.
    EXPECT_EQ(decode_state(bytes, after, t0 + 2000), 5u);
    ASSERT_EQ(after.size(), 5u);
    EXPECT_EQ(*after.find_as<std::string>("s", t0 + 2000), std::string("a\0b", 3));
    EXPECT_EQ(after.find("s", t0 + 2000)->expires, t0 + 7000);
    EXPECT_EQ(*after.find_as<List>("l", t0 + 2000), (List{"x", "y", "x"}));
    EXPECT_EQ(*after.find_as<Set>("set", t0 + 2000), (Set{"m1", "m2"}));
    EXPECT_EQ(*after.find_as<Hash>("h", t0 + 2000), (Hash{{"f", "v"}, {"g", ""}}));
    EXPECT_EQ(after.find("h", t0 + 2000)->expires, t0 + 2100);
    const SortedSet &zz = *after.find_as<SortedSet>("z", t0 + 2000);
    EXPECT_EQ(zz.score("tenth"), 0.1) << "scores round-trip exactly";
    EXPECT_EQ(zz.score("big"), 1e300);
    EXPECT_EQ(zz.score("low"), -std::numeric_limits<double>::infinity());
    EXPECT_EQ(after.find("l", t0 + 2000)->expires, std::nullopt);
}

// What version 1.0 of the plugin exported: name, value, lifetime triples.
TEST(KvStateCodec, ReadsThePreviousVersionsFormat) {
    std::string v1 = "PKV1";
    resp::append_array(v1, 6);
    for (const char *field : {"alpha", "1", "-1", "ttl", "v", "100000"})
        resp::append_bulk(v1, field);
    Keyspace keys;
    EXPECT_EQ(decode_state(v1, keys, t0), 2u);
    EXPECT_EQ(*keys.find_as<std::string>("alpha", t0), "1");
    EXPECT_EQ(keys.find("alpha", t0)->expires, std::nullopt);
    EXPECT_EQ(keys.find("ttl", t0)->expires, t0 + 100000);
}

TEST(KvStateCodec, UnknownFormatsAreReportedAndCorruptOnesRefused) {
    Keyspace keys;
    EXPECT_EQ(decode_state("PKV9*0\r\n", keys, t0), std::nullopt);
    EXPECT_EQ(decode_state("", keys, t0), std::nullopt);
    EXPECT_EQ(decode_state("PKV2*0\r\n", keys, t0), 0u);

    const auto v2 = [](std::initializer_list<const char *> fields) {
        std::string out = "PKV2";
        resp::append_array(out, fields.size());
        for (const char *field : fields)
            resp::append_bulk(out, field);
        return out;
    };
    const std::string corrupt[] = {
        "PKV2*1\r\n$1\r\n",                       // cut short
        v2({"k", "string", "-1"}),                // no element count
        v2({"k", "string", "-1", "2", "a", "b"}), // a string has one element
        v2({"k", "list", "-1", "3", "a"}),        // fewer elements than counted
        v2({"k", "hash", "-1", "1", "f"}),        // a field without its value
        v2({"k", "zset", "-1", "2", "m", "nan"}),
        v2({"k", "stream", "-1", "0"}),
        v2({"k", "string", "soon", "1", "v"}),
        "PKV1" + v2({"k", "v"}).substr(4), // PKV1 needs triples
    };
    for (const auto &bytes : corrupt)
        EXPECT_THROW(decode_state(bytes, keys, t0), std::runtime_error) << bytes;
}

} // namespace
} // namespace portico::kv
