// admin_metrics_test.cpp — GET /metrics parsed as Prometheus text and checked
// against the connections, bytes and failures this test caused.
#include "harness/AdminHost.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PrometheusParser.h"
#include "harness/TcpClient.h"
#include "harness/UdpClient.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace portico::test {
namespace {

// One scrape: "name{labels}" → value, labels as written by the host (sorted
// as written; the tests look samples up by the exact text).
struct Scrape {
    std::map<std::string, double> samples;
    std::map<std::string, std::string> types; // family → counter | gauge | histogram

    double at(const std::string &key) const {
        const auto found = samples.find(key);
        if (found == samples.end()) throw HarnessError("no sample " + key);
        return found->second;
    }
};

// Parses the text exposition format strictly enough to catch malformed lines.
Scrape parse_metrics(const std::string &text) {
    Scrape scrape;
    static const std::regex sample(
        R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? ([-+0-9.eE]+|\+Inf|NaN)$)");
    static const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::smatch m;
        if (line.empty()) continue;
        if (std::regex_match(line, m, type)) {
            scrape.types[m[1]] = m[2];
            continue;
        }
        if (line.rfind("# HELP ", 0) == 0) continue;
        if (!std::regex_match(line, m, sample)) throw HarnessError("malformed metrics line: " + line);
        const std::string name = m[1];
        std::string family = name;
        for (const char *suffix : {"_bucket", "_sum", "_count"})
            if (family.ends_with(suffix) && !scrape.types.count(family))
                family = family.substr(0, family.size() - std::strlen(suffix));
        if (!scrape.types.count(family)) throw HarnessError("sample before its # TYPE line: " + line);
        scrape.samples[name + m[2].str()] = m[3] == "+Inf" ? INFINITY : std::stod(m[3]);
    }
    return scrape;
}

std::string svc(const std::string &service) {
    return "{service=\"" + service + "\"}";
}

TEST(AdminMetrics, CountersAndTheDurationHistogramMatchTheTrafficSent) {
    TempDir dir;
    AdminHostSpec spec;
    spec.plugin_dir = make_plugin_dir(dir, {shipped_plugin("upper"), shipped_plugin("echo"), test_plugin("throwing")});
    spec.services = {{"upper", "upper.upper", ""}, {"echo", "echo.echo", ""}, {"shouty", "throwing.boom", ""}};
    AdminHost host(dir, spec);

    for (int i = 0; i < 4; ++i) {
        TcpClient client(host.port("upper"));
        EXPECT_EQ(client.round_trip("abc\n"), "ABC\n");
    }
    {
        TcpClient client(host.port("echo"));
        EXPECT_EQ(client.round_trip(std::string(1000, 'e')).size(), 1000u);
    }
    {
        TcpClient client(host.port("shouty"));
        client.send("boom\n");
        EXPECT_TRUE(client.read_until_closed(5s).has_value());
    }
    TcpClient open_one(host.port("echo"));
    open_one.send("z");
    EXPECT_EQ(open_one.read_until_closed(200ms), std::nullopt) << "echo keeps the connection open";

    const auto response = host.get("/metrics");
    ASSERT_EQ(response.status, 200);
    EXPECT_EQ(response.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    Scrape m;
    ASSERT_TRUE(wait_until(
        [&] {
            m = parse_metrics(host.get("/metrics").body);
            // Every counter asserted below: each is updated by a session's
            // own thread, some after the client already has its answer.
            return m.at("portico_service_session_duration_seconds_count" + svc("shouty")) == 1 &&
                   m.at("portico_service_session_duration_seconds_count" + svc("upper")) == 4 &&
                   m.at("portico_service_connections_total" + svc("echo")) == 2 &&
                   m.at("portico_service_connections_active" + svc("echo")) == 1 &&
                   m.at("portico_service_connections_active" + svc("upper")) == 0 &&
                   m.at("portico_service_received_bytes_total" + svc("upper")) == 16 &&
                   m.at("portico_service_sent_bytes_total" + svc("upper")) == 16 &&
                   m.at("portico_service_received_bytes_total" + svc("echo")) == 1001 &&
                   m.at("portico_service_handler_errors_total" + svc("shouty")) == 1;
        },
        5s))
        << "the counters never matched the traffic sent";

    EXPECT_EQ(m.types.at("portico_service_connections_total"), "counter");
    EXPECT_EQ(m.types.at("portico_service_connections_active"), "gauge");
    EXPECT_EQ(m.types.at("portico_service_session_duration_seconds"), "histogram");

    EXPECT_EQ(m.at("portico_service_connections_total" + svc("upper")), 4);
    EXPECT_EQ(m.at("portico_service_connections_total" + svc("echo")), 2);
    EXPECT_EQ(m.at("portico_service_connections_active" + svc("echo")), 1);
    EXPECT_EQ(m.at("portico_service_connections_active" + svc("upper")), 0);
    EXPECT_EQ(m.at("portico_service_received_bytes_total" + svc("upper")), 16);
    EXPECT_EQ(m.at("portico_service_sent_bytes_total" + svc("upper")), 16);
    EXPECT_EQ(m.at("portico_service_received_bytes_total" + svc("echo")), 1001) << "the open session counts too";
    EXPECT_EQ(m.at("portico_service_handler_errors_total" + svc("shouty")), 1);
    EXPECT_EQ(m.at("portico_service_handler_errors_total" + svc("upper")), 0);
    EXPECT_EQ(m.at("portico_service_connections_refused_total{service=\"upper\",reason=\"per_source_max\"}"), 0);
    EXPECT_EQ(m.at("portico_ready"), 1);
    EXPECT_EQ(m.at("portico_plugin_loads_total{result=\"ok\"}"), 3);
    EXPECT_EQ(m.at("portico_plugin_loads_total{result=\"failed\"}"), 0);

    // The histogram: cumulative buckets, +Inf equal to _count, a sane _sum.
    double previous = 0;
    for (const std::string le :
         {"0.001", "0.005", "0.01", "0.05", "0.1", "0.5", "1", "5", "10", "30", "60", "300", "1800", "+Inf"}) {
        const std::string key = "portico_service_session_duration_seconds_bucket{service=\"upper\",le=\"" + le + "\"}";
        const double value = m.samples.count(key) ? m.samples.at(key) : -1;
        ASSERT_GE(value, 0) << "missing bucket le=" << le;
        EXPECT_GE(value, previous) << "buckets must be cumulative at le=" << le;
        previous = value;
    }
    EXPECT_EQ(previous, 4) << "+Inf bucket equals the session count";
    const double sum = m.at("portico_service_session_duration_seconds_sum" + svc("upper"));
    EXPECT_GT(sum, 0);
    EXPECT_LT(sum, 20);
}

TEST(AdminMetrics, EveryFamilyHasHelpAndTypeAndNoSampleRepeats) {
    TempDir dir;
    AdminHostSpec spec;
    spec.plugin_dir = make_plugin_dir(dir, {shipped_plugin("upper")});
    spec.services = {{"upper", "upper.upper", ""}};
    AdminHost host(dir, spec);
    const std::string text = host.get("/metrics").body;
    std::set<std::string> helps, types, seen;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("# HELP ", 0) == 0)
            helps.insert(line.substr(7, line.find(' ', 7) - 7));
        else if (line.rfind("# TYPE ", 0) == 0)
            types.insert(line.substr(7, line.find(' ', 7) - 7));
        else
            EXPECT_TRUE(seen.insert(line.substr(0, line.rfind(' '))).second) << "duplicate sample " << line;
    }
    EXPECT_EQ(helps, types);
    for (const std::string family : {"portico_build_info", "portico_service_info", "portico_plugin_info",
                                     "portico_service_session_duration_seconds", "portico_reloads_total"})
        EXPECT_TRUE(types.count(family)) << family;
    EXPECT_NO_THROW(parse_metrics(text));
    EXPECT_NE(text.find("portico_service_info{service=\"upper\",state=\"serving\",address=\"127.0.0.1:" +
                        std::to_string(host.port("upper")) + "\""),
              std::string::npos)
        << text;
}

// The series of one scrape that belong to services, without their values.
std::set<std::string> service_series(const ParsedMetrics &m) {
    std::set<std::string> keys;
    for (const auto &[key, value] : m.samples)
        if (key.starts_with("portico_service_") && !key.starts_with("portico_service_info")) keys.insert(key);
    return keys;
}

TEST(AdminMetrics, TheRealParserReadsWhatTheClientsDidWhileSessionsAreStillOpen) {
    TempDir dir;
    AdminHostSpec spec;
    spec.plugin_dir =
        make_plugin_dir(dir, {shipped_plugin("upper"), shipped_plugin("echo"), shipped_plugin("udp_echo")});
    spec.services = {{"upper", "upper.upper", ""},
                     {"echo", "echo.echo", "    per_source_max: 1\n"},
                     {"udp", "udp_echo.udp_echo", "    protocol: udp\n    max_datagram: 100\n"}};
    AdminHost host(dir, spec);
    const auto scrape = [&] { return parse_with_prometheus_client(dir, host.get("/metrics").body); };

    // Bytes show while the session is open, not only when it ends.
    TcpClient held(host.port("echo"));
    held.send(std::string(999, 'e') + "\n");
    EXPECT_EQ(held.read_line().value_or("").size(), 1000u);
    // The same source again: refused by per_source_max, and counted under that reason.
    TcpClient second(host.port("echo"));
    EXPECT_TRUE(second.read_until_closed(5s).has_value()) << "per_source_max 1 let a second connection in";
    // Datagrams: three answered, one too large.
    UdpClient udp(host.port("udp"));
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(udp.request("ping"), "ping");
    udp.send(std::string(101, 'x'));

    ParsedMetrics m;
    const auto counted = [&] {
        m = scrape();
        return m.at("portico_service_received_bytes_total{service=\"echo\"}") == 1000 &&
               m.at("portico_service_sent_bytes_total{service=\"echo\"}") == 1000 &&
               m.at("portico_service_connections_refused_total{reason=\"per_source_max\",service=\"echo\"}") == 1 &&
               m.at("portico_service_datagrams_total{service=\"udp\"}") == 3 &&
               m.at("portico_service_datagrams_dropped_total{reason=\"oversized\",service=\"udp\"}") == 1;
    };
    ASSERT_TRUE(wait_until(counted, 10s))
        << "the last scrape: received " << m.at("portico_service_received_bytes_total{service=\"echo\"}");

    EXPECT_EQ(m.types.at("portico_service_connections_refused"), "counter");
    EXPECT_EQ(m.types.at("portico_service_datagrams"), "counter");
    EXPECT_EQ(m.at("portico_service_connections_active{service=\"echo\"}"), 1);
    EXPECT_EQ(m.at("portico_service_connections_refused_total{reason=\"max_connections\",service=\"echo\"}"), 0);
    EXPECT_EQ(m.at("portico_service_connections_total{service=\"echo\"}"), 1);
    EXPECT_FALSE(m.has("portico_service_connections_total{service=\"udp\"}")) << "datagrams are not connections";
    EXPECT_EQ(m.at("portico_service_received_bytes_total{service=\"udp\"}"), 12);
    EXPECT_EQ(m.at("portico_service_datagrams_dropped_total{reason=\"queue_full\",service=\"udp\"}"), 0);
    EXPECT_EQ(m.at("portico_service_session_duration_seconds_count{service=\"udp\"}"), 3)
        << "each handled datagram's duration is recorded";
    EXPECT_EQ(m.at("portico_service_session_duration_seconds_bucket{le=\"+Inf\",service=\"udp\"}"), 3);

    // process_* from /proc of the host.
    EXPECT_EQ(m.types.at("process_cpu_seconds"), "counter");
    EXPECT_GE(m.at("process_cpu_seconds_total{}"), 0);
    EXPECT_GT(m.at("process_resident_memory_bytes{}"), 1e6);
    EXPECT_GT(m.at("process_open_fds{}"), 5) << "listeners, the admin socket and the held connection at least";
    EXPECT_LE(m.at("process_open_fds{}"), m.at("process_max_fds{}"));
    EXPECT_GE(m.at("process_threads{}"), 3);
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_LE(m.at("process_start_time_seconds{}"), m.at("portico_start_time_seconds{}") + 1);
    EXPECT_GT(m.at("process_start_time_seconds{}"), now - 300);

    // `state` belongs to portico_service_info alone.
    for (const auto &[key, value] : m.samples)
        if (key.find("state=") != std::string::npos) {
            EXPECT_TRUE(key.starts_with("portico_service_info{")) << key;
        }
}

TEST(AdminMetrics, AConfigReloadThatReplacesAServiceKeepsItsSeries) {
    TempDir dir;
    AdminHostSpec spec;
    spec.plugin_dir = make_plugin_dir(dir, {shipped_plugin("upper"), shipped_plugin("echo")});
    spec.services = {{"upper", "upper.upper", ""}, {"echo", "echo.echo", ""}};
    AdminHost host(dir, spec);
    const auto scrape = [&] { return parse_with_prometheus_client(dir, host.get("/metrics").body); };

    TcpClient held(host.port("echo")); // keeps the replaced instance retiring
    held.send("abc\n");
    EXPECT_EQ(held.read_line(), "abc\n");
    ParsedMetrics before;
    ASSERT_TRUE(wait_until(
        [&] { return (before = scrape()).at("portico_service_received_bytes_total{service=\"echo\"}") == 4; }, 10s));

    spec.services[1].extra = "    idle_timeout: 77s\n";
    host.process().rewrite_config(spec.yaml());
    const auto reload = host.post("/reload?scope=config");
    ASSERT_EQ(reload.status, 200) << reload.body;

    ParsedMetrics after;
    ASSERT_TRUE(wait_until(
        [&] {
            after = scrape();
            for (const auto &[key, value] : after.samples)
                if (key.starts_with("portico_service_info{") && key.find("service=\"echo\"") != std::string::npos &&
                    key.find("state=\"retiring\"") != std::string::npos)
                    return true;
            return false;
        },
        10s))
        << "the replaced echo instance never showed as retiring";
    EXPECT_EQ(service_series(after), service_series(before)) << "a reload changed the identity of service series";
    EXPECT_EQ(after.at("portico_service_received_bytes_total{service=\"echo\"}"), 4)
        << "the retiring instance's counts still add up under the service";
    EXPECT_EQ(after.at("portico_service_connections_active{service=\"echo\"}"), 1);
}

} // namespace
} // namespace portico::test
