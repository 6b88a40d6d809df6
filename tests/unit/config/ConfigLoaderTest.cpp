// ConfigLoaderTest.cpp — valid configs load into the typed Config with every
// key honoured and every default applied; invalid ones report all issues.
#include "config/ConfigLoader.h"
#include "ConfigIssues.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using portico::host::Config;
using portico::host::ConfigError;
using portico::host::ListenAddress;
using portico::host::load_config_file;
using portico::host::load_config_text;
using portico::host::Protocol;
using portico::host::ServiceMode;

namespace {

const fs::path kFile = "/srv/portico/etc/portico.yaml";

const char *const kMinimal = "plugins: {dir: plugins}\n"
                             "services:\n"
                             "  - name: upper\n"
                             "    listen: 127.0.0.1:9999\n"
                             "    handler: text.upper\n";

// The issues of a config that must fail, as "line:col key: message" lines.
std::vector<std::string> issues_of(const std::string &yaml) {
    return portico::test::config_issues(yaml);
}

// A scratch directory removed at the end of the test.
class TempDir {
public:
    TempDir() : path_(fs::temp_directory_path() / ("portico-config-test-" + std::to_string(::getpid()))) {
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path &path() const { return path_; }

private:
    fs::path path_;
};

} // namespace

TEST(ConfigLoader, AppliesDefaults) {
    const Config config = load_config_text(kMinimal, kFile);
    EXPECT_EQ(config.file, kFile);
    EXPECT_EQ(config.plugins.dir, "/srv/portico/etc/plugins");
    EXPECT_TRUE(config.plugins.load.empty());
    EXPECT_TRUE(config.plugins.watch);
    EXPECT_EQ(config.plugins.drain_timeout, 30s);
    ASSERT_EQ(config.services.size(), 1u);
    const auto &s = config.services[0];
    EXPECT_EQ(s.name, "upper");
    EXPECT_EQ(s.listen.to_string(), "127.0.0.1:9999");
    EXPECT_EQ(s.protocol, Protocol::tcp);
    EXPECT_EQ(s.plugin, "text");
    EXPECT_EQ(s.handler, "upper");
    EXPECT_EQ(s.mode, ServiceMode::threads);
    EXPECT_EQ(s.threads.min, 2);
    EXPECT_EQ(s.threads.max, 16);
    EXPECT_EQ(s.threads.idle, 60s);
    EXPECT_EQ(s.threads.stack_kib, 0);
    EXPECT_EQ(s.workers, 2);
    EXPECT_EQ(s.max_queued, 64);
    EXPECT_EQ(s.backlog, 128);
    EXPECT_TRUE(s.tcp_nodelay);
    EXPECT_TRUE(s.reuse_address);
    EXPECT_FALSE(s.reuse_port);
    EXPECT_EQ(s.max_connections, 1024);
    EXPECT_EQ(s.idle_timeout, 300s);
    EXPECT_EQ(s.read_timeout, 60s);
    EXPECT_EQ(s.max_line, 64u * 1024);
    EXPECT_TRUE(s.settings.empty());
    EXPECT_FALSE(config.admin.listen);
    EXPECT_EQ(config.admin.token, "");
    EXPECT_EQ(config.logging.level, "information");
    EXPECT_EQ(config.logging.format, "text");
    EXPECT_EQ(config.shutdown_timeout, 10s);
    EXPECT_EQ(config.drain_delay, 0s);
}

TEST(ConfigLoader, ParsesEveryKey) {
    const Config config = load_config_text(R"(
plugins:
  dir: /opt/plugins/
  load: [upper.so, echo.so]
  watch: false
  drain_timeout: 1.5s
services:
  - name: up-per_1.x
    listen: '[::1]:0'
    protocol: udp
    handler: text.upper
    mode: single
    threads: {min: 1, max: 4096, idle: 250ms, stack: 256KiB}
    max_queued: 0
    backlog: 1
    tcp_nodelay: no
    reuse_address: off
    reuse_port: true
    max_connections: 1
    idle_timeout: 1h
    read_timeout: 0s
    max_line: 16
    config: {greeting: hello}
admin:
  listen: localhost:9900
  token: secret
logging: {level: trace, format: json}
shutdown_timeout: 5m
drain_delay: 5s
)",
                                           kFile);
    EXPECT_EQ(config.plugins.dir, "/opt/plugins/");
    EXPECT_EQ(config.plugins.load, (std::vector<std::string>{"upper.so", "echo.so"}));
    EXPECT_FALSE(config.plugins.watch);
    EXPECT_EQ(config.plugins.drain_timeout, 1500ms);
    ASSERT_EQ(config.services.size(), 1u);
    const auto &s = config.services[0];
    EXPECT_EQ(s.name, "up-per_1.x");
    EXPECT_EQ(s.listen.host, "::1");
    EXPECT_EQ(s.listen.port, 0);
    EXPECT_EQ(s.protocol, Protocol::udp);
    EXPECT_EQ(s.mode, ServiceMode::single);
    EXPECT_EQ(s.threads.min, 1);
    EXPECT_EQ(s.threads.max, 4096);
    EXPECT_EQ(s.threads.idle, 250ms);
    EXPECT_EQ(s.threads.stack_kib, 256);
    EXPECT_EQ(s.max_queued, 0);
    EXPECT_EQ(s.backlog, 1);
    EXPECT_FALSE(s.tcp_nodelay);
    EXPECT_FALSE(s.reuse_address);
    EXPECT_TRUE(s.reuse_port);
    EXPECT_EQ(s.max_connections, 1);
    EXPECT_EQ(s.idle_timeout, 1h);
    EXPECT_EQ(s.read_timeout, 0ms);
    EXPECT_EQ(s.max_line, 16u);
    EXPECT_EQ(s.settings.at("greeting"), "hello");
    ASSERT_TRUE(config.admin.listen);
    EXPECT_EQ(config.admin.listen->to_string(), "localhost:9900");
    EXPECT_EQ(config.admin.token, "secret");
    EXPECT_EQ(config.logging.level, "trace");
    EXPECT_EQ(config.logging.format, "json");
    EXPECT_EQ(config.shutdown_timeout, 5min);
    EXPECT_EQ(config.drain_delay, 5s);
}

TEST(ConfigLoader, ParsesProcessModeAndWorkers) {
    const Config config = load_config_text(R"(
plugins: {dir: p}
services:
  - name: isolated
    listen: 127.0.0.1:0
    handler: text.upper
    mode: process
    workers: 4
    threads: {min: 1, max: 8}
)",
                                           kFile);
    ASSERT_EQ(config.services.size(), 1u);
    EXPECT_EQ(config.services[0].mode, ServiceMode::process);
    EXPECT_EQ(config.services[0].workers, 4);
    EXPECT_EQ(config.services[0].threads.max, 8);
}

TEST(ConfigLoader, ParsesEventsModeAndItsDefaults) {
    const Config config = load_config_text(R"(
plugins: {dir: p}
services:
  - name: many
    listen: 127.0.0.1:0
    handler: text.upper
    mode: events
    events: {loops: 3, stack: 1MiB}
  - name: defaults
    listen: 127.0.0.1:0
    handler: text.upper
    mode: events
)",
                                           kFile);
    ASSERT_EQ(config.services.size(), 2u);
    EXPECT_EQ(config.services[0].mode, ServiceMode::events);
    EXPECT_EQ(config.services[0].events.loops, 3);
    EXPECT_EQ(config.services[0].events.stack, 1024u * 1024u);
    EXPECT_EQ(config.services[1].events.loops, 0); // one per CPU, decided at start
    EXPECT_EQ(config.services[1].events.stack, 256u * 1024u);
    EXPECT_STREQ(portico::host::to_string(config.services[1].mode), "events");
}

TEST(ConfigLoader, FlattensServiceSettings) {
    const Config config = load_config_text(R"(
plugins: {dir: p}
services:
  - name: a
    listen: 127.0.0.1:1
    handler: x
    config:
      greeting: hello
      nested: {a: 1, deeper: {b: "two words"}}
      list: [x, y, {k: v}]
      empty:
      quoted: '007'
)",
                                           kFile);
    const std::map<std::string, std::string> expected{
        {"greeting", "hello"}, {"nested.a", "1"}, {"nested.deeper.b", "two words"},
        {"list.0", "x"},       {"list.1", "y"},   {"list.2.k", "v"},
        {"empty", ""},         {"quoted", "007"},
    };
    EXPECT_EQ(config.services.at(0).settings, expected);
}

TEST(ConfigLoader, ResolvesRelativePathsAgainstTheConfigFolder) {
    const Config config = load_config_text(R"(
plugins: {dir: ../build/./plugins}
services:
  - {name: a, listen: 'unix:run/../a.sock', handler: x}
  - {name: b, listen: 'unix:/tmp/b.sock', handler: x}
admin: {listen: 'unix:admin.sock'}
)",
                                           kFile);
    EXPECT_EQ(config.plugins.dir, "/srv/portico/build/plugins");
    EXPECT_EQ(config.services[0].listen.path, "/srv/portico/etc/a.sock");
    EXPECT_EQ(config.services[1].listen.path, "/tmp/b.sock");
    EXPECT_EQ(config.admin.listen->path, "/srv/portico/etc/admin.sock");
}

TEST(ConfigLoader, RelativeConfigFileIsMadeAbsolute) {
    const Config config = load_config_text(kMinimal, "conf/portico.yaml");
    EXPECT_TRUE(config.file.is_absolute());
    EXPECT_EQ(config.file, (fs::current_path() / "conf/portico.yaml").lexically_normal());
    EXPECT_EQ(config.plugins.dir, (fs::current_path() / "conf/plugins").lexically_normal());
}

TEST(ConfigLoader, ShorthandHandlerNamesPluginAndHandlerAlike) {
    const Config config = load_config_text(R"(
plugins: {dir: p}
services:
  - {name: a, listen: 127.0.0.1:1, handler: echo}
  - {name: b, listen: 127.0.0.1:2, handler: text.upper-case_2}
)",
                                           kFile);
    EXPECT_EQ(config.services[0].plugin, "echo");
    EXPECT_EQ(config.services[0].handler, "echo");
    EXPECT_EQ(config.services[1].plugin, "text");
    EXPECT_EQ(config.services[1].handler, "upper-case_2");
}

TEST(ConfigLoader, RecordsPositionsForLaterChecks) {
    const Config config = load_config_text(R"(plugins:
  dir: p
services:
  - name: a
    listen: 127.0.0.1:1
    handler: text.upper
admin: {listen: 127.0.0.1:2}
)",
                                           "t.yaml");
    EXPECT_EQ(config.plugins.dir_pos.to_string(), "t.yaml:2:8");
    const auto &s = config.services[0];
    EXPECT_EQ(s.pos.to_string(), "t.yaml:4:5");
    EXPECT_EQ(s.name_pos.to_string(), "t.yaml:4:11");
    EXPECT_EQ(s.listen_pos.to_string(), "t.yaml:5:13");
    EXPECT_EQ(s.handler_pos.to_string(), "t.yaml:6:14");
    EXPECT_EQ(config.admin.listen_pos.to_string(), "t.yaml:7:17");
}

TEST(ConfigLoader, PortZeroAndSeparateProtocolsNeverClash) {
    const Config config = load_config_text(R"(
plugins: {dir: p}
services:
  - {name: a, listen: 127.0.0.1:0, handler: x}
  - {name: b, listen: 127.0.0.1:0, handler: x}
  - {name: c, listen: 127.0.0.1:53, handler: x}
  - {name: d, listen: 127.0.0.1:53, handler: x, protocol: udp}
  - {name: e, listen: 127.0.0.2:53, handler: x}
  - {name: f, listen: '[::1]:53', handler: x}
admin: {listen: 127.0.0.1:0}
)",
                                           kFile);
    EXPECT_EQ(config.services.size(), 6u);
}

TEST(ConfigLoader, AcceptsAnchorsAndAliases) {
    const Config config = load_config_text(R"(
plugins: {dir: p}
services:
  - {name: a, listen: 127.0.0.1:1, handler: x, config: &shared {greeting: hi}}
  - {name: b, listen: 127.0.0.1:2, handler: x, config: *shared}
)",
                                           kFile);
    EXPECT_EQ(config.services[1].settings.at("greeting"), "hi");
}

TEST(ConfigLoader, CollectsEveryIssueInFileOrder) {
    // Issues are found in several passes (keys, then duplicates and clashes);
    // the user still reads them top to bottom.
    const auto issues = issues_of(R"(shutdown_timeout: 10
services:
  - name: a
    listen: 127.0.0.1:9000
    handler: x
    backlog: lots
  - name: a
    listen: 127.0.0.1:9000
    handler: x.y.z
    threads: {min: 8, max: 4}
plugins:
  dri: p
logging: {level: loud}
)");
    const std::vector<std::string> expected{
        "t.yaml:1:19: shutdown_timeout: missing unit in '10': add one of ms, s, m, h (write 10s or 10ms)",
        "t.yaml:6:14: services[0].backlog: expected an integer, got 'lots'",
        "t.yaml:7:11: services[1].name: duplicate service name 'a' (first defined at t.yaml:3:11)",
        "t.yaml:8:13: services[1].listen: listen address 127.0.0.1:9000 is already used by service 'a'",
        "t.yaml:9:14: services[1].handler: bad handler 'x.y.z': expected plugin.handler or plugin, each part "
        "letters, digits, '_' or '-'",
        "t.yaml:10:28: services[1].threads.max: threads.min (8) is greater than threads.max (4)",
        "t.yaml:12:3: plugins.dri: unknown key 'dri' (did you mean 'dir'?)",
        "t.yaml:12:3: plugins: missing required key 'dir' (e.g. dir: ./plugins)",
        "t.yaml:13:18: logging.level: expected one of 'trace', 'debug', 'information', 'notice', 'warning', "
        "'error', 'critical', 'fatal' (or info, warn, err, crit), got 'loud'",
    };
    EXPECT_EQ(issues, expected);
}

TEST(ConfigLoader, ErrorTextJoinsIssuesByNewline) {
    try {
        load_config_text("plugins: {dir: p}\nservices: []\nshutdown_timeout: x\n", "t.yaml");
        FAIL() << "expected ConfigError";
    } catch (const ConfigError &e) {
        ASSERT_EQ(e.issues().size(), 2u);
        EXPECT_EQ(e.issues()[0].key, "services");
        EXPECT_EQ(e.issues()[0].pos.line, 2);
        EXPECT_EQ(e.issues()[0].pos.column, 11);
        EXPECT_EQ(std::string(e.what()), e.issues()[0].to_string() + "\n" + e.issues()[1].to_string());
    }
}

TEST(ConfigLoader, ReportsEveryDuplicateAgainstTheFirst) {
    const auto issues = issues_of(R"(plugins: {dir: p}
services:
  - {name: a, listen: 127.0.0.1:1, handler: x}
  - {name: a, listen: 127.0.0.1:2, handler: x}
  - {name: b, listen: 'unix:/tmp/x.sock', handler: x}
  - {name: a, listen: 'unix:/tmp/x.sock', handler: x}
)");
    const std::vector<std::string> expected{
        "t.yaml:4:12: services[1].name: duplicate service name 'a' (first defined at t.yaml:3:12)",
        "t.yaml:6:12: services[3].name: duplicate service name 'a' (first defined at t.yaml:3:12)",
        "t.yaml:6:23: services[3].listen: listen address unix:/tmp/x.sock is already used by service 'b'",
    };
    EXPECT_EQ(issues, expected);
}

TEST(ConfigLoader, CapsAliasCyclesAndBombs) {
    const auto cycle = issues_of(R"(plugins: {dir: p}
services:
  - {name: a, listen: 127.0.0.1:1, handler: x, config: &c {loop: *c}}
)");
    ASSERT_EQ(cycle.size(), 1u);
    EXPECT_EQ(cycle[0], "t.yaml:3:56: services[0].config: settings are nested too deeply (at most 32 levels)");

    std::string bomb = "plugins: {dir: p}\nbomb:\n  - &l0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i < 9; ++i) {
        bomb += "  - &l" + std::to_string(i) + " [";
        for (int j = 0; j < 10; ++j)
            bomb += (j ? ", *l" : "*l") + std::to_string(i - 1);
        bomb += "]\n";
    }
    bomb += "services:\n  - {name: a, listen: 127.0.0.1:1, handler: x, config: {b: *l8}}\n";
    const auto issues = issues_of(bomb);
    ASSERT_EQ(issues.size(), 2u);
    EXPECT_EQ(issues[0], "t.yaml:2:1: bomb: unknown key 'bomb' (valid keys: plugins, services, admin, logging, "
                         "shutdown_timeout, user, drain_delay)");
    EXPECT_EQ(issues[1], "t.yaml:13:56: services[0].config: too many settings (at most 10000 values)");
}

TEST(ConfigLoader, LoadsAFile) {
    const TempDir dir;
    const fs::path file = dir.path() / "portico.yaml";
    std::ofstream(file) << kMinimal;
    const Config config = load_config_file(file);
    EXPECT_EQ(config.file, file);
    EXPECT_EQ(config.plugins.dir, dir.path() / "plugins");
}

TEST(ConfigLoader, NamesAMissingFileAndTheReason) {
    const TempDir dir;
    const fs::path file = dir.path() / "nope.yaml";
    try {
        load_config_file(file);
        FAIL() << "expected ConfigError";
    } catch (const ConfigError &e) {
        EXPECT_EQ(std::string(e.what()), file.string() + ": cannot read config file: No such file or directory");
    }
    try {
        load_config_file(dir.path());
        FAIL() << "expected ConfigError";
    } catch (const ConfigError &e) {
        EXPECT_EQ(std::string(e.what()), dir.path().string() +
                                             ": cannot read config file: it is a directory, not a regular file; "
                                             "name a file");
    }
}

TEST(ConfigLoader, RefusesAConfigFileOverTheCapBeforeParsingIt) {
    const TempDir dir;
    const fs::path file = dir.path() / "huge.yaml";
    std::ofstream(file) << kMinimal;
    fs::resize_file(file, portico::host::kMaxConfigBytes + 1); // sparse: no disk, no time
    try {
        load_config_file(file);
        FAIL() << "expected ConfigError";
    } catch (const ConfigError &e) {
        EXPECT_EQ(std::string(e.what()), file.string() + ": cannot read config file: it is larger than the limit of "
                                                         "4 MiB; is this the right file?");
    }
}

TEST(ConfigLoader, AFifoAsConfigFileIsAnErrorNotAHang) {
    const TempDir dir;
    const fs::path fifo = dir.path() / "portico.yaml";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    // Nobody ever writes it: a blocking open would wait for ever, and ctest's
    // timeout would be the only way out.
    try {
        load_config_file(fifo);
        FAIL() << "expected ConfigError";
    } catch (const ConfigError &e) {
        EXPECT_EQ(std::string(e.what()),
                  fifo.string() +
                      ": cannot read config file: it is a FIFO (named pipe), not a regular file; name a file");
    }
}

TEST(ConfigLoader, DeepNestingIsNamedWithItsPlace) {
    const std::string message = "YAML nesting too deep here (more than about 500 levels of lists and maps)";
    // Block style: the position is the line where the limit was crossed,
    // well inside the 600 levels, not the end of the file.
    std::string block = "plugins: {dir: p}\n"
                        "services:\n"
                        "  - name: a\n"
                        "    listen: 127.0.0.1:9000\n"
                        "    handler: x\n"
                        "    config:\n";
    for (int level = 0; level < 600; ++level)
        block += std::string(6 + 2 * level, ' ') + "k:\n";
    block += std::string(6 + 2 * 600, ' ') + "v\n";
    const auto issues = issues_of(block);
    ASSERT_EQ(issues.size(), 1u);
    EXPECT_NE(issues[0].find(message), std::string::npos) << issues[0];
    int line = 0;
    ASSERT_EQ(std::sscanf(issues[0].c_str(), "t.yaml:%d:", &line), 1) << issues[0];
    EXPECT_GT(line, 100) << issues[0];
    EXPECT_LT(line, 600) << issues[0];
    // Flow style: yaml-cpp has read ahead to the end by then; the message is the same.
    const auto flow =
        issues_of("plugins: {dir: p}\nservices:\n  - {name: a, listen: 127.0.0.1:9000, handler: x, config: {k: " +
                  std::string(600, '[') + std::string(600, ']') + "}}\n");
    ASSERT_EQ(flow.size(), 1u);
    EXPECT_NE(flow[0].find(message), std::string::npos) << flow[0];
}

TEST(ConfigLoader, AcceptsTheUsualShortLogLevelNames) {
    const std::string base = std::string(kMinimal) + "logging: {level: ";
    EXPECT_EQ(load_config_text(base + "info}\n", "t.yaml").logging.level, "information");
    EXPECT_EQ(load_config_text(base + "warn}\n", "t.yaml").logging.level, "warning");
    EXPECT_EQ(load_config_text(base + "WARNING}\n", "t.yaml").logging.level, "warning");
    EXPECT_EQ(load_config_text(base + "err}\n", "t.yaml").logging.level, "error");
    EXPECT_EQ(load_config_text(base + "debug}\n", "t.yaml").logging.level, "debug");
}

TEST(ConfigLoader, BusyMessageMayEndWithItsNewline) {
    const std::string yaml = std::string(kMinimal) + "    busy_message: \"busy\\r\\n\"\n";
    EXPECT_EQ(load_config_text(yaml, "t.yaml").services.at(0).busy_message, "busy\r\n");
}

TEST(ConfigLoader, ReportsSyntaxErrorsOfAFileWithItsName) {
    const TempDir dir;
    const fs::path file = dir.path() / "broken.yaml";
    std::ofstream(file) << "plugins: [\n";
    try {
        load_config_file(file);
        FAIL() << "expected ConfigError";
    } catch (const ConfigError &e) {
        ASSERT_EQ(e.issues().size(), 1u);
        EXPECT_EQ(e.issues()[0].pos.file, file.string());
        EXPECT_TRUE(e.issues()[0].message.starts_with("YAML syntax error: ")) << e.what();
    }
}

TEST(ConfigLoader, ShippedConfigParses) {
    const fs::path file = fs::path(PORTICO_SOURCE_DIR) / "config" / "portico.yaml";
    if (!fs::exists(file)) GTEST_SKIP() << file << " does not exist yet";
    try {
        const Config config = load_config_file(file);
        EXPECT_FALSE(config.services.empty());
    } catch (const ConfigError &e) {
        FAIL() << e.what();
    }
}
