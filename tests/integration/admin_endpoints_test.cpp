// admin_endpoints_test.cpp — the admin server of a real host, endpoint by
// endpoint, as an operator would use it with curl: health, readiness, the
// JSON status after some traffic, the token, reloads and drain status.
#include "harness/AdminHost.h"
#include "harness/AdminStatus.h"
#include "harness/Json.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/TcpClient.h"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <regex>

namespace portico::test {
namespace {

AdminHostSpec shipped_spec(const TempDir &dir) {
    AdminHostSpec spec;
    spec.plugin_dir = make_plugin_dir(dir, {shipped_plugin("upper"), shipped_plugin("echo")});
    spec.services = {{"upper", "upper.upper", ""}, {"echo", "echo.echo", ""}};
    return spec;
}

// Replaces `target` atomically, as a deploy would (never a half-written file).
void replace_file(const std::filesystem::path &source, const std::filesystem::path &target) {
    const auto temp = target.parent_path() / (".incoming-" + target.filename().string());
    std::filesystem::copy_file(source, temp, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::rename(temp, target);
}

TEST(AdminEndpoints, HealthAndReadyAnswerOnceTheServicesAreBound) {
    TempDir dir;
    AdminHost host(dir, shipped_spec(dir));
    const auto health = host.get("/health");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(health.body, "ok\n");
    const auto ready = host.get("/ready");
    EXPECT_EQ(ready.status, 200) << ready.body;
    EXPECT_EQ(ready.body, "ready\n");
    EXPECT_NE(host.process().log_text().find("admin listening on 127.0.0.1:"), std::string::npos);
}

TEST(AdminEndpoints, StatusReportsServicesAndPluginsWithTheTrafficTheTestSent) {
    TempDir dir;
    AdminHost host(dir, shipped_spec(dir));
    for (int i = 0; i < 3; ++i) {
        TcpClient client(host.port("upper"));
        EXPECT_EQ(client.round_trip("hello\n"), "HELLO\n"); // 6 bytes each way
    }
    TcpClient open_one(host.port("echo"));
    open_one.send("x\n");
    EXPECT_EQ(open_one.read_line(), "x\n");

    Json status;
    ASSERT_TRUE(wait_until(
        [&] {
            status = Json::parse(host.get("/status").body);
            // Every counter asserted below: each session's thread updates
            // them, some after its client already has the answer.
            const Json &upper = service_named(status, "upper");
            const Json &echo = service_named(status, "echo");
            return upper["bytes_in"].number() == 18 && upper["bytes_out"].number() == 18 &&
                   upper["connections"]["active"].number() == 0 && upper["connections"]["total"].number() == 3 &&
                   echo["connections"]["active"].number() == 1 && echo["connections"]["total"].number() == 1;
        },
        5s))
        << "the traffic sent never reached /status";

    EXPECT_TRUE(status["host"]["ready"].boolean());
    const Json &upper = service_named(status, "upper");
    EXPECT_EQ(upper["address"].string(), "127.0.0.1:" + std::to_string(host.port("upper")));
    EXPECT_EQ(upper["state"].string(), "serving");
    EXPECT_EQ(upper["mode"].string(), "threads");
    EXPECT_EQ(upper["protocol"].string(), "tcp");
    EXPECT_EQ(upper["handler"].string(), "upper.upper");
    EXPECT_EQ(upper["plugin_version"].string(), "1.0.0");
    EXPECT_EQ(upper["connections"]["total"].number(), 3);
    EXPECT_EQ(upper["connections"]["active"].number(), 0);
    EXPECT_EQ(upper["connections"]["refused"].number(), 0);
    EXPECT_EQ(upper["handler_errors"].number(), 0);
    EXPECT_EQ(upper["bytes_in"].number(), 18);
    EXPECT_EQ(upper["bytes_out"].number(), 18);

    const Json &echo = service_named(status, "echo");
    EXPECT_EQ(echo["connections"]["active"].number(), 1) << "the echo connection is still open";
    EXPECT_EQ(echo["connections"]["total"].number(), 1);

    ASSERT_EQ(status["plugins"].size(), 2u);
    for (const Json &plugin : status["plugins"].array()) {
        SCOPED_TRACE(plugin["name"].string());
        EXPECT_TRUE(std::regex_match(plugin["sha256"].string(), std::regex("[0-9a-f]{64}")))
            << plugin["sha256"].string();
        EXPECT_EQ(std::filesystem::path(plugin["file"].string()).parent_path(), dir / "plugins");
        EXPECT_TRUE(
            std::regex_match(plugin["loaded_at"].string(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
        EXPECT_GE(plugin["generation"].number(), 1);
    }
    EXPECT_EQ(status["draining"].size(), 0u);
    EXPECT_EQ(status["registry"]["loads_failed"].number(), 0);
    EXPECT_EQ(status["reloads"]["history"].size(), 0u);
}

TEST(AdminEndpoints, TokenIsRequiredForStateButNotForProbes) {
    TempDir dir;
    AdminHostSpec spec = shipped_spec(dir);
    spec.token = "s3cret-token";
    AdminHost host(dir, spec);

    for (const std::string path : {"/status", "/metrics"}) {
        SCOPED_TRACE(path);
        EXPECT_EQ(host.get(path).status, 401);
        EXPECT_EQ(host.get(path, "wrong").status, 401);
        EXPECT_EQ(host.get(path, "s3cret-token-and-more").status, 401);
        EXPECT_NE(host.get(path).header("WWW-Authenticate").find("Bearer"), std::string::npos);
        EXPECT_EQ(host.get(path, "s3cret-token").status, 200);
    }
    EXPECT_EQ(host.post("/reload?scope=plugins").status, 401);
    EXPECT_EQ(host.post("/reload?scope=plugins", "nope").status, 401);
    EXPECT_EQ(host.post("/reload?scope=plugins", "s3cret-token").status, 200);
    // Probes and the page itself carry no state and stay open.
    EXPECT_EQ(host.get("/health").status, 200);
    EXPECT_EQ(host.get("/ready").status, 200);
    EXPECT_EQ(host.get("/").status, 200);
}

TEST(AdminEndpoints, TokenCanComeFromTheEnvironment) {
    ASSERT_EQ(::setenv("PORTICO_ADMIN_TOKEN", "from-env", 1), 0); // inherited by the host
    TempDir dir;
    AdminHost host(dir, shipped_spec(dir));
    ::unsetenv("PORTICO_ADMIN_TOKEN");
    EXPECT_EQ(host.get("/status").status, 401);
    EXPECT_EQ(host.get("/status", "from-env").status, 200);
    EXPECT_NE(host.process().log_text().find("bearer token required"), std::string::npos);
}

TEST(AdminEndpoints, UnknownPathsAndWrongMethodsAreRefusedWithAReason) {
    TempDir dir;
    AdminHost host(dir, shipped_spec(dir));
    const auto missing = host.get("/nope");
    EXPECT_EQ(missing.status, 404);
    EXPECT_NE(missing.body.find("/metrics"), std::string::npos) << missing.body;
    const auto get_reload = host.get("/reload");
    EXPECT_EQ(get_reload.status, 405);
    EXPECT_EQ(get_reload.header("Allow"), "POST");
    EXPECT_EQ(host.post("/status").status, 405);
    const auto bad_scope = host.post("/reload?scope=everything");
    EXPECT_EQ(bad_scope.status, 400);
    EXPECT_NE(bad_scope.body.find("plugins, config or all"), std::string::npos) << bad_scope.body;
}

TEST(AdminEndpoints, ReloadSaysWhatChangedAndStatusShowsTheDrainingVersion) {
    TempDir dir;
    AdminHostSpec spec;
    spec.plugin_dir = dir.subdir("plugins");
    const auto flip = spec.plugin_dir / "flip.so";
    std::filesystem::copy_file(test_plugin("flip_a"), flip);
    spec.services = {{"flip", "flip.reply", ""}};
    AdminHost host(dir, spec);

    const auto unchanged = host.post("/reload?scope=plugins");
    ASSERT_EQ(unchanged.status, 200) << unchanged.body;
    const Json nothing = Json::parse(unchanged.body);
    EXPECT_TRUE(nothing["ok"].boolean());
    EXPECT_EQ(nothing["scope"].string(), "plugins");
    ASSERT_EQ(nothing["changes"].size(), 1u);
    EXPECT_EQ(nothing["changes"][0].string(), "no plugin file changed");

    TcpClient pinned(host.port("flip")); // a session on version A, kept open across the reload
    pinned.send("one\n");
    EXPECT_EQ(pinned.read_line(), "A one\n");

    replace_file(test_plugin("flip_b"), flip);
    const auto reloaded = host.post("/reload?scope=plugins");
    ASSERT_EQ(reloaded.status, 200) << reloaded.body;
    const Json report = Json::parse(reloaded.body);
    EXPECT_TRUE(report["ok"].boolean());
    std::string changes;
    for (const Json &c : report["changes"].array())
        changes += c.string() + "\n";
    EXPECT_NE(changes.find("loaded flip B"), std::string::npos) << changes;
    EXPECT_NE(changes.find("service 'flip' now uses flip B"), std::string::npos) << changes;

    TcpClient fresh(host.port("flip"));
    fresh.send("two\n");
    EXPECT_EQ(fresh.read_line(), "B two\n");
    pinned.send("three\n");
    EXPECT_EQ(pinned.read_line(), "A three\n") << "an open session keeps the version it started with";

    const Json status = Json::parse(host.get("/status").body);
    EXPECT_EQ(service_named(status, "flip")["plugin_version"].string(), "B");
    ASSERT_EQ(status["draining"].size(), 1u) << host.get("/status").body;
    EXPECT_EQ(status["draining"][0]["plugin"].string(), "flip");
    EXPECT_EQ(status["draining"][0]["version"].string(), "A");
    EXPECT_EQ(status["draining"][0]["sessions"].number(), 1);
    const Json &history = status["reloads"]["history"];
    ASSERT_EQ(history.size(), 2u);
    EXPECT_EQ(history[0]["trigger"].string(), "admin") << "newest first";
    EXPECT_NE(history[0]["changes"][0].string().find("loaded flip B"), std::string::npos);
    EXPECT_EQ(status["reloads"]["total"].number(), 2);

    pinned.close();
    ASSERT_TRUE(wait_until([&] { return Json::parse(host.get("/status").body)["draining"].size() == 0; }, 10s))
        << "version A should be unloaded once its last session ended: " << host.get("/status").body;
}

TEST(AdminEndpoints, RefusedReloadAnswers422AndStatusKeepsTheError) {
    TempDir dir;
    AdminHostSpec spec;
    spec.plugin_dir = dir.subdir("plugins");
    const auto flip = spec.plugin_dir / "flip.so";
    std::filesystem::copy_file(test_plugin("flip_a"), flip);
    spec.services = {{"flip", "flip.reply", ""}};
    AdminHost host(dir, spec);

    replace_file(test_plugin("bad_magic"), flip);
    const auto refused = host.post("/reload?scope=plugins");
    ASSERT_EQ(refused.status, 422) << refused.body;
    const Json report = Json::parse(refused.body);
    EXPECT_FALSE(report["ok"].boolean());
    ASSERT_GE(report["errors"].size(), 1u);
    EXPECT_NE(report["errors"][0].string().find("flip.so"), std::string::npos) << report["errors"][0].string();

    TcpClient client(host.port("flip"));
    client.send("still\n");
    EXPECT_EQ(client.read_line(), "A still\n") << "the previous version keeps serving";

    const Json status = Json::parse(host.get("/status").body);
    EXPECT_EQ(status["registry"]["loads_failed"].number(), 1);
    EXPECT_NE(status["registry"]["last_error"].string().find("flip.so"), std::string::npos);
    EXPECT_FALSE(status["reloads"]["history"][0]["ok"].boolean());
    EXPECT_EQ(status["reloads"]["failed"].number(), 1);
}

TEST(AdminEndpoints, ConfigReloadWithABrokenFileReportsWhereAndKeepsServing) {
    TempDir dir;
    AdminHost host(dir, shipped_spec(dir));
    std::ofstream(host.process().config_path(), std::ios::app) << "services: [\n"; // now invalid YAML
    const auto refused = host.post("/reload?scope=config");
    ASSERT_EQ(refused.status, 422) << refused.body;
    const Json report = Json::parse(refused.body);
    EXPECT_EQ(report["scope"].string(), "config");
    ASSERT_GE(report["errors"].size(), 1u);
    EXPECT_TRUE(std::regex_search(report["errors"][0].string(), std::regex(R"(portico\.yaml:\d+:\d+)")))
        << report["errors"][0].string();
    TcpClient client(host.port("upper"));
    EXPECT_EQ(client.round_trip("ok\n"), "OK\n");
}

TEST(AdminEndpoints, ReadyTurnsFalseWhileTheHostDrainsAtShutdown) {
    TempDir dir;
    AdminHostSpec spec = shipped_spec(dir);
    spec.shutdown_timeout = "3s";
    AdminHost host(dir, spec);
    TcpClient idle(host.port("upper")); // keeps the host draining after SIGTERM
    idle.send("x\n");
    EXPECT_EQ(idle.read_line(), "X\n");
    host.process().send_signal(SIGTERM);
    ASSERT_TRUE(host.process().wait_for_log("stopping", 5s));
    const auto ready = host.get("/ready");
    EXPECT_EQ(ready.status, 503) << ready.body;
    EXPECT_EQ(host.get("/health").status, 200) << "alive while draining";
    EXPECT_EQ(host.process().wait_exit(10s), ExitStatus::exited(0)) << host.process().log_text();
}

} // namespace
} // namespace portico::test
