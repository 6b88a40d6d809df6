// AdminRenderTest.cpp — StatusJson and PrometheusText from a hand-made
// snapshot; the reload history's bound; the token check.
#include "admin/AdminAuth.h"
#include "admin/PrometheusText.h"
#include "admin/StatusJson.h"
#include "app/ReloadHistory.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

namespace portico::host {
namespace {

StatusSnapshot sample_snapshot() {
    StatusSnapshot snap;
    snap.portico_version = "9.9.9";
    snap.pid = 42;
    snap.started_at = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
    snap.now = snap.started_at + std::chrono::seconds(90);
    snap.ready = true;
    ServiceStatus s;
    s.name = "upper";
    s.state = "serving";
    s.address = "127.0.0.1:9999";
    s.protocol = "tcp";
    s.mode = "threads";
    s.handler = "upper.upper";
    s.plugin = "upper";
    s.plugin_version = "1.0.0";
    s.generation = 3;
    s.counts.accepted = 7;
    s.counts.active = 2;
    s.counts.refused = 1;
    s.counts.handler_errors = 1;
    s.counts.bytes_in = 100;
    s.counts.bytes_out = 200;
    DurationHistogram h;
    h.record(std::chrono::microseconds(500)); // le 0.001
    h.record(std::chrono::milliseconds(30));  // le 0.05
    h.record(std::chrono::seconds(4000));     // +Inf
    s.counts.durations = h.snapshot();
    snap.services.push_back(s);
    PluginStatus p;
    p.name = "upper";
    p.version = "1.0.0";
    p.file = "/plugins/up\"per.so";
    p.sha256 = std::string(64, 'a');
    p.loaded_at = snap.started_at;
    p.generation = 3;
    p.handlers = {"upper"};
    snap.plugins.push_back(p);
    snap.draining.push_back({"upper", "0.9", 1, 2, 3, 12.5});
    snap.registry.loads_ok = 3;
    snap.registry.loads_failed = 1;
    snap.registry.last_error = "bad.so: not an ELF file";
    snap.reloads.push_back({snap.started_at, "plugins", "admin", {"first"}, {}});
    snap.reloads.push_back({snap.now, "config", "SIGHUP", {}, {"portico.yaml:3:4: bad"}});
    snap.reloads_total = 2;
    snap.reloads_failed = 1;
    return snap;
}

TEST(StatusJson, HasEveryFieldAnOperatorNeeds) {
    const auto root = Poco::JSON::Parser().parse(status_json(sample_snapshot())).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(root->getObject("host")->getValue<std::string>("version"), "9.9.9");
    EXPECT_EQ(root->getObject("host")->getValue<std::string>("started_at"), "2023-11-14T22:13:20.000Z");
    EXPECT_DOUBLE_EQ(root->getObject("host")->getValue<double>("uptime_seconds"), 90);
    const auto svc = root->getArray("services")->getObject(0);
    EXPECT_EQ(svc->getValue<std::string>("handler"), "upper.upper");
    EXPECT_EQ(svc->getObject("connections")->getValue<int>("active"), 2);
    EXPECT_EQ(svc->getObject("connections")->getValue<int>("total"), 7);
    EXPECT_EQ(svc->getObject("connections")->getValue<int>("refused"), 1);
    EXPECT_EQ(svc->getValue<int>("bytes_out"), 200);
    EXPECT_EQ(svc->getObject("sessions")->getValue<int>("ended"), 3);
    const auto plugin = root->getArray("plugins")->getObject(0);
    EXPECT_EQ(plugin->getValue<std::string>("file"), "/plugins/up\"per.so");
    const auto draining = root->getArray("draining")->getObject(0);
    EXPECT_EQ(draining->getValue<int>("sessions"), 2);
    EXPECT_EQ(root->getObject("registry")->getValue<std::string>("last_error"), "bad.so: not an ELF file");
    const auto history = root->getObject("reloads")->getArray("history");
    ASSERT_EQ(history->size(), 2u);
    EXPECT_EQ(history->getObject(0)->getValue<std::string>("trigger"), "SIGHUP") << "newest first";
    EXPECT_FALSE(history->getObject(0)->getValue<bool>("ok"));
}

TEST(PrometheusText, CountersGaugesAndACumulativeHistogram) {
    const std::string text = prometheus_text(sample_snapshot());
    const auto has = [&](const std::string &line) { return text.find(line + "\n") != std::string::npos; };
    EXPECT_TRUE(has("# TYPE portico_service_connections_total counter"));
    EXPECT_TRUE(has("portico_service_connections_total{service=\"upper\"} 7"));
    EXPECT_TRUE(has("portico_service_connections_active{service=\"upper\"} 2"));
    EXPECT_TRUE(has("portico_service_received_bytes_total{service=\"upper\"} 100"));
    EXPECT_TRUE(has("# TYPE portico_service_session_duration_seconds histogram"));
    const std::string bucket = "portico_service_session_duration_seconds_bucket{service=\"upper\",le=";
    EXPECT_TRUE(has(bucket + "\"0.001\"} 1"));
    EXPECT_TRUE(has(bucket + "\"0.01\"} 1"));
    EXPECT_TRUE(has(bucket + "\"0.05\"} 2"));
    EXPECT_TRUE(has(bucket + "\"1800\"} 2"));
    EXPECT_TRUE(has(bucket + "\"+Inf\"} 3"));
    EXPECT_TRUE(has("portico_service_session_duration_seconds_count{service=\"upper\"} 3"));
    EXPECT_TRUE(has("portico_plugin_info{plugin=\"upper\",version=\"1.0.0\",file=\"/plugins/up\\\"per.so\",sha256=\"" +
                    std::string(64, 'a') + "\",generation=\"3\"} 1"));
    EXPECT_TRUE(has("portico_plugin_draining_sessions{plugin=\"upper\",version=\"0.9\",generation=\"1\"} 2"));
    EXPECT_TRUE(has("portico_reloads_total{result=\"ok\"} 1"));
    EXPECT_TRUE(has("portico_reloads_total{result=\"error\"} 1"));
    EXPECT_TRUE(has("portico_start_time_seconds 1700000000"));
}

// Mode process: per worker slot in portico_worker_* families; a config reload
// that leaves the old service retiring next to the new one adds their slots up.
TEST(PrometheusText, WorkerSlotsOfAProcessServiceInFamiliesOfTheirOwn) {
    StatusSnapshot snap = sample_snapshot();
    ServiceStatus p = snap.services.front();
    p.name = "pool";
    p.mode = "process";
    for (int slot = 0; slot < 2; ++slot) {
        WorkerFigures w;
        w.slot = slot;
        w.pid = 100 + slot;
        w.restarts = static_cast<uint64_t>(slot);
        w.counts.accepted = 10 + static_cast<uint64_t>(slot);
        w.counts.active = 1;
        w.counts.bytes_in = 5;
        p.workers.push_back(w);
    }
    snap.services.push_back(p);
    p.state = "retiring";
    snap.services.push_back(p);
    const std::string text = prometheus_text(snap);
    const auto has = [&](const std::string &line) { return text.find(line + "\n") != std::string::npos; };
    EXPECT_TRUE(has("# TYPE portico_worker_connections_total counter"));
    EXPECT_TRUE(has("portico_worker_connections_total{service=\"pool\",worker=\"0\"} 20"));
    EXPECT_TRUE(has("portico_worker_connections_total{service=\"pool\",worker=\"1\"} 22"));
    EXPECT_TRUE(has("portico_worker_connections_active{service=\"pool\",worker=\"1\"} 2"));
    EXPECT_TRUE(has("portico_worker_received_bytes_total{service=\"pool\",worker=\"0\"} 10"));
    EXPECT_TRUE(has("portico_worker_restarts_total{service=\"pool\",worker=\"1\"} 2"));
    EXPECT_EQ(text.find("portico_worker_connections_total{service=\"upper\""), std::string::npos);
}

TEST(PrometheusText, WritesNoWorkerFamiliesWithoutAProcessService) {
    EXPECT_EQ(prometheus_text(sample_snapshot()).find("portico_worker_"), std::string::npos);
}

TEST(StatusJson, ListsTheWorkerSlotsOfAProcessService) {
    StatusSnapshot snap = sample_snapshot();
    WorkerFigures w;
    w.slot = 1;
    w.pid = 4321;
    w.restarts = 2;
    w.counts.accepted = 9;
    snap.services.front().workers.push_back(w);
    const auto parsed = Poco::JSON::Parser().parse(status_json(snap)).extract<Poco::JSON::Object::Ptr>();
    const auto service = parsed->getArray("services")->getObject(0);
    const auto worker = service->getArray("workers")->getObject(0);
    EXPECT_EQ(worker->getValue<int>("worker"), 1);
    EXPECT_EQ(worker->getValue<long>("pid"), 4321);
    EXPECT_EQ(worker->getValue<int>("restarts"), 2);
    EXPECT_EQ(worker->getObject("connections")->getValue<int>("total"), 9);
    snap.services.front().workers.clear();
    const auto plain = Poco::JSON::Parser().parse(status_json(snap)).extract<Poco::JSON::Object::Ptr>();
    EXPECT_FALSE(plain->getArray("services")->getObject(0)->has("workers"));
}

TEST(PrometheusText, EscapesLabelValues) {
    EXPECT_EQ(prometheus_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
}

TEST(DurationHistogram, PutsEachDurationInTheFirstBucketThatHoldsIt) {
    DurationHistogram h;
    h.record(std::chrono::milliseconds(1)); // exactly on a bound: le is inclusive
    h.record(std::chrono::milliseconds(2));
    const auto s = h.snapshot();
    EXPECT_EQ(s.buckets[0], 1u);
    EXPECT_EQ(s.buckets[1], 1u);
    EXPECT_EQ(s.count, 2u);
    EXPECT_NEAR(s.sum_seconds, 0.003, 1e-9);
}

TEST(ReloadHistory, KeepsTheLastTwentyAndCountsAll) {
    ReloadHistory history;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&history, t] {
            for (int i = 0; i < 25; ++i) {
                ReloadRecord r;
                r.scope = "plugins";
                r.trigger = std::to_string(t);
                if (i % 5 == 0) r.errors.push_back("refused");
                history.record(std::move(r));
            }
        });
    for (auto &t : threads)
        t.join();
    EXPECT_EQ(history.entries().size(), ReloadHistory::kCapacity);
    EXPECT_EQ(history.total(), 100u);
    EXPECT_EQ(history.failed(), 20u);
}

TEST(AdminAuth, BearerTokenMustMatchExactly) {
    EXPECT_TRUE(bearer_matches("Bearer abc", "abc"));
    EXPECT_TRUE(bearer_matches("bearer abc", "abc"));
    EXPECT_FALSE(bearer_matches("Bearer abcd", "abc"));
    EXPECT_FALSE(bearer_matches("Bearer ab", "abc"));
    EXPECT_FALSE(bearer_matches("Bearer ABC", "abc"));
    EXPECT_FALSE(bearer_matches("Basic abc", "abc"));
    EXPECT_FALSE(bearer_matches("", "abc"));
    EXPECT_TRUE(bearer_matches("", "")) << "no token configured: no auth";
}

TEST(AdminAuth, ConfigTokenWinsOverTheEnvironment) {
    ::setenv(kAdminTokenEnv, "env", 1);
    AdminConfig config;
    EXPECT_EQ(effective_admin_token(config), "env");
    config.token = "file";
    EXPECT_EQ(effective_admin_token(config), "file");
    ::unsetenv(kAdminTokenEnv);
    config.token.clear();
    EXPECT_EQ(effective_admin_token(config), "");
}

} // namespace
} // namespace portico::host
