// ConfigErrorsTest.cpp — every way a portico.yaml can be wrong, each paired
// with the exact message a user sees. The messages are part of the interface:
// a change here should be a deliberate one.
#include "config/ConfigLoader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using portico::host::ConfigError;
using portico::host::load_config_text;

namespace {

struct BadConfig {
    const char *what; // shown when the case fails
    std::string yaml;
    std::string error; // ConfigError::what(): every issue, one per line
};

// Each snippet starts from this valid config and changes one thing.
const std::string kPlugins = "plugins: {dir: p}\n";
const std::string kServiceA = "  - name: a\n"
                              "    listen: 127.0.0.1:9000\n"
                              "    handler: x\n";

std::string service(const std::string &extra_lines) {
    return kPlugins + "services:\n" + kServiceA + extra_lines;
}

const std::vector<BadConfig> &bad_configs() {
    static const std::vector<BadConfig> cases{
        {"misspelled service key", service("    max_conection: 5\n"),
         "t.yaml:6:5: services[0].max_conection: unknown key 'max_conection' (did you mean 'max_connections'?)"},
        {"address without port",
         "plugins: {dir: p}\n"
         "services:\n"
         "  - name: a\n"
         "    listen: 127.0.0.1\n"
         "    handler: x\n",
         "t.yaml:4:13: services[0].listen: bad address '127.0.0.1': expected host:port, [v6]:port or unix:/path"},
        {"port out of range",
         "plugins: {dir: p}\n"
         "services:\n"
         "  - name: a\n"
         "    listen: 127.0.0.1:70000\n"
         "    handler: x\n",
         "t.yaml:4:13: services[0].listen: port 70000 is out of range 0-65535"},
        {"unbracketed IPv6",
         "plugins: {dir: p}\n"
         "services:\n"
         "  - name: a\n"
         "    listen: ::1:9000\n"
         "    handler: x\n",
         "t.yaml:4:13: services[0].listen: IPv6 address in '::1:9000' needs brackets: write [::1]:9000"},
        {"threads min above max", service("    threads: {min: 8, max: 4}\n"),
         "t.yaml:6:28: services[0].threads.max: threads.min (8) is greater than threads.max (4)"},
        {"threads min above default max", service("    threads:\n      min: 20\n"),
         "t.yaml:7:12: services[0].threads.min: threads.min (20) is greater than threads.max (16)"},
        {"threads max too large", service("    threads: {max: 20000}\n"),
         "t.yaml:6:20: services[0].threads.max: must be at most 16384, got 20000"},
        {"threads min zero", service("    threads: {min: 0}\n"),
         "t.yaml:6:20: services[0].threads.min: must be at least 1, got 0"},
        {"threads not a map", service("    threads: 4\n"),
         "t.yaml:6:14: services[0].threads: expected a map (keys: min, max, idle, stack), got '4'"},
        {"unknown threads key", service("    threads: {foo: 1}\n"),
         "t.yaml:6:15: services[0].threads.foo: unknown key 'foo' (valid keys: min, max, idle, stack)"},
        {"small stack", service("    threads: {stack: 16KiB}\n"),
         "t.yaml:6:22: services[0].threads.stack: must be 0 (the platform default) or at least 64KiB, got 16KiB"},
        {"integer expected", service("    backlog: lots\n"),
         "t.yaml:6:14: services[0].backlog: expected an integer, got 'lots'"},
        {"integer too small", service("    backlog: 0\n"),
         "t.yaml:6:14: services[0].backlog: must be at least 1, got 0"},
        {"negative max_queued", service("    max_queued: -1\n"),
         "t.yaml:6:17: services[0].max_queued: must be at least 0, got -1"},
        {"duration without unit", service("    idle_timeout: 30\n"),
         "t.yaml:6:19: services[0].idle_timeout: missing unit in '30': add one of ms, s, m, h (write 30s or 30ms)"},
        {"negative duration", service("    read_timeout: -5s\n"),
         "t.yaml:6:19: services[0].read_timeout: negative duration '-5s': durations must be 0 or more"},
        {"unknown duration unit", service("    idle_timeout: 5min\n"),
         "t.yaml:6:19: services[0].idle_timeout: unknown unit 'min' in '5min': use ms, s, m or h (e.g. 30s, 250ms, 5m, "
         "1h or 1.5s)"},
        {"bad boolean", service("    tcp_nodelay: maybe\n"),
         "t.yaml:6:18: services[0].tcp_nodelay: expected true or false, got 'maybe'"},
        {"misspelled protocol", service("    protocol: tpc\n"),
         "t.yaml:6:15: services[0].protocol: expected 'tcp' or 'udp', got 'tpc' (did you mean 'tcp'?)"},
        {"unknown mode", service("    mode: forked\n"),
         "t.yaml:6:11: services[0].mode: expected one of 'threads', 'single', 'process', 'events', got 'forked'"},
        {"workers without mode process", service("    workers: 4\n"),
         "t.yaml:6:14: services[0].workers: applies to mode process only; remove it or set mode: process"},
        {"no workers", service("    mode: process\n    workers: 0\n"),
         "t.yaml:7:14: services[0].workers: must be at least 1, got 0"},
        {"too many workers", service("    mode: process\n    workers: 257\n"),
         "t.yaml:7:14: services[0].workers: must be at most 256, got 257"},
        {"mode process on udp", service("    protocol: udp\n    mode: process\n"),
         "t.yaml:7:11: services[0].mode: mode process applies to protocol tcp only; use threads for udp"},
        {"events without mode events", service("    events: {loops: 2}\n"),
         "t.yaml:6:13: services[0].events: applies to mode events only; remove it or set mode: events"},
        {"mode events on udp", service("    protocol: udp\n    mode: events\n"),
         "t.yaml:7:11: services[0].mode: mode events applies to protocol tcp only; use threads for udp"},
        {"threads with mode events", service("    mode: events\n    threads: {min: 1, max: 4}\n"),
         "t.yaml:7:14: services[0].threads: mode events has no worker threads per connection; size it with "
         "events.loops, or remove threads:"},
        {"max_queued with mode events", service("    mode: events\n    max_queued: 10\n"),
         "t.yaml:7:17: services[0].max_queued: mode events queues no connection: each admitted one is served at "
         "once (max_connections bounds them); remove it"},
        {"queue_timeout with mode events", service("    mode: events\n    queue_timeout: 5s\n"),
         "t.yaml:7:20: services[0].queue_timeout: mode events queues no connection: each admitted one is served at "
         "once (max_connections bounds them); remove it"},
        {"engine without mode process", service("    engine: events\n"),
         "t.yaml:6:13: services[0].engine: applies to mode process only (what each worker runs); remove it, or set "
         "mode: events for the events engine in one process"},
        {"unknown engine", service("    mode: process\n    engine: fibers\n"),
         "t.yaml:7:13: services[0].engine: expected 'threads' or 'events', got 'fibers'"},
        {"events with the threads engine", service("    mode: process\n    events: {loops: 2}\n"),
         "t.yaml:7:13: services[0].events: applies to the events engine only; remove it or set engine: events"},
        {"threads with engine events", service("    mode: process\n    engine: events\n    threads: {max: 4}\n"),
         "t.yaml:8:14: services[0].threads: engine events has no worker threads per connection; size it with "
         "events.loops, or remove threads:"},
        {"max_queued with engine events", service("    mode: process\n    engine: events\n    max_queued: 10\n"),
         "t.yaml:8:17: services[0].max_queued: engine events queues no connection: each admitted one is served at "
         "once (max_connections bounds them); remove it"},
        {"no event loops", service("    mode: events\n    events: {loops: 0}\n"),
         "t.yaml:7:21: services[0].events.loops: must be at least 1, got 0"},
        {"too many event loops", service("    mode: events\n    events: {loops: 257}\n"),
         "t.yaml:7:21: services[0].events.loops: must be at most 256, got 257"},
        {"fiber stack too small", service("    mode: events\n    events: {stack: 4KiB}\n"),
         "t.yaml:7:21: services[0].events.stack: must be at least 64KiB, got 4KiB"},
        {"misspelled events key", service("    mode: events\n    events: {loop: 2}\n"),
         "t.yaml:7:14: services[0].events.loop: unknown key 'loop' (did you mean 'loops'?)"},
        {"max_line too small", service("    max_line: 8\n"),
         "t.yaml:6:15: services[0].max_line: must be at least 16B, got 8"},
        {"max_line too large", service("    max_line: 1GiB\n"),
         "t.yaml:6:15: services[0].max_line: must be at most 64MiB, got 1GiB"},
        {"max_line not a size", service("    max_line: big\n"),
         "t.yaml:6:15: services[0].max_line: expected a byte size like 65536, 64KiB or 1MiB (units B, KiB, MiB, GiB, "
         "KB, MB, GB), got 'big'"},
        {"settings not a map", service("    config: [a, b]\n"),
         "t.yaml:6:13: services[0].config: expected a map of settings for the handler, like {greeting: hello}, got a "
         "list"},
        {"bad handler",
         "plugins: {dir: p}\n"
         "services:\n"
         "  - name: a\n"
         "    listen: 127.0.0.1:9000\n"
         "    handler: a.b.c\n",
         "t.yaml:5:14: services[0].handler: bad handler 'a.b.c': expected plugin.handler or plugin, each part letters, "
         "digits, '_' or '-'"},
        {"bad service name",
         "plugins: {dir: p}\n"
         "services:\n"
         "  - name: a b\n"
         "    listen: 127.0.0.1:9000\n"
         "    handler: x\n",
         "t.yaml:3:11: services[0].name: bad service name 'a b': use letters, digits, '_', '.' or '-'"},
        {"missing listen and handler",
         "plugins: {dir: p}\n"
         "services:\n"
         "  - name: a\n",
         "t.yaml:3:5: services[0]: missing required key 'listen' (e.g. listen: 127.0.0.1:9000)\n"
         "t.yaml:3:5: services[0]: missing required key 'handler' (e.g. handler: plugin.handler)"},
        {"empty listen value",
         "plugins: {dir: p}\n"
         "services:\n"
         "  - name: a\n"
         "    listen:\n"
         "    handler: x\n",
         "t.yaml:4:5: services[0].listen: expected an address like 127.0.0.1:9000, [::1]:9000 or unix:/path, got an "
         "empty value"},
        {"service not a map",
         "plugins: {dir: p}\n"
         "services:\n"
         "  - just-a-name\n",
         "t.yaml:3:5: services[0]: expected a map (keys: name, listen, protocol, handler, mode, threads, workers, "
         "events, max_queued, backlog, tcp_nodelay, reuse_address, reuse_port, max_connections, idle_timeout, "
         "read_timeout, max_line, max_datagram, allow, deny, rate_limit, accept_rate, per_source_max, busy_message, "
         "queue_timeout, keepalive, unix_mode, access_log, tls, config, engine, proxy_protocol, proxy_from, "
         "proxy_timeout, socket_options), got 'just-a-name'"},
        {"duplicate key", service("    listen: 127.0.0.1:9001\n"),
         "t.yaml:6:5: services[0].listen: duplicate key 'listen' (first defined at t.yaml:4:5)"},
        {"duplicate service name",
         "plugins: {dir: p}\n"
         "services:\n"
         "  - {name: a, listen: 127.0.0.1:9000, handler: x}\n"
         "  - {name: a, listen: 127.0.0.1:9001, handler: x}\n",
         "t.yaml:4:12: services[1].name: duplicate service name 'a' (first defined at t.yaml:3:12)"},
        {"same listen address",
         "plugins: {dir: p}\n"
         "services:\n"
         "  - {name: a, listen: 127.0.0.1:9999, handler: x}\n"
         "  - {name: b, listen: 127.0.0.1:9999, handler: x}\n",
         "t.yaml:4:23: services[1].listen: listen address 127.0.0.1:9999 is already used by service 'a'"},
        {"wildcard overlaps",
         "plugins: {dir: p}\n"
         "services:\n"
         "  - {name: a, listen: 127.0.0.1:9999, handler: x}\n"
         "  - {name: b, listen: '*:9999', handler: x}\n",
         "t.yaml:4:23: services[1].listen: listen address 0.0.0.0:9999 is already used by service 'a' (which listens "
         "on 127.0.0.1:9999)"},
        {"same unix path",
         "plugins: {dir: /etc}\n"
         "services:\n"
         "  - {name: a, listen: 'unix:/tmp/s.sock', handler: x}\n"
         "  - {name: b, listen: 'unix:/tmp/../tmp/s.sock', handler: x}\n",
         "t.yaml:4:23: services[1].listen: listen address unix:/tmp/s.sock is already used by service 'a'"},
        {"admin on a service's port",
         "plugins: {dir: p}\n"
         "services:\n"
         "  - {name: a, listen: 127.0.0.1:9900, handler: x}\n"
         "admin:\n"
         "  listen: 127.0.0.1:9900\n",
         "t.yaml:5:11: admin.listen: listen address 127.0.0.1:9900 is already used by service 'a'"},
        {"admin beyond loopback without a token",
         "plugins: {dir: p}\n"
         "services:\n"
         "  - {name: a, listen: 127.0.0.1:9000, handler: x}\n"
         "admin:\n"
         "  listen: 0.0.0.0:9900\n",
         "t.yaml:5:11: admin.listen: 0.0.0.0:9900 is reachable beyond this machine, and no token is set: set "
         "admin.token (or $PORTICO_ADMIN_TOKEN), or listen on loopback (127.0.0.1:PORT) or a unix: socket"},
        {"admin host name with a port",
         "plugins: {dir: p}\n"
         "services:\n"
         "  - {name: a, listen: 127.0.0.1:9000, handler: x}\n"
         "admin:\n"
         "  listen: 127.0.0.1:9900\n"
         "  hosts: [portico.internal, 'portico.internal:9900']\n",
         "t.yaml:6:29: admin.hosts[1]: expected a host name without port or scheme, like portico.internal, got "
         "'portico.internal:9900'"},
        {"empty services",
         "plugins: {dir: p}\n"
         "services: []\n",
         "t.yaml:2:11: services: must list at least one service (- name: echo, listen: 127.0.0.1:9000, handler: echo)"},
        {"services a map",
         "plugins: {dir: p}\n"
         "services: {name: a}\n",
         "t.yaml:2:11: services: expected a list of services (- name: ..., listen: ..., handler: ...), got a map"},
        {"missing services", "plugins: {dir: p}\n",
         "t.yaml:1:1: missing required key 'services' (e.g. services: [{name: echo, listen: 127.0.0.1:9000, handler: "
         "echo}])"},
        {"missing plugins dir",
         "plugins: {watch: true}\n"
         "services:\n"
         "  - {name: a, listen: 127.0.0.1:9000, handler: x}\n",
         "t.yaml:1:10: plugins: missing required key 'dir' (e.g. dir: ./plugins)"},
        {"misspelled top-level key",
         "plugin: {dir: p}\n"
         "services:\n"
         "  - {name: a, listen: 127.0.0.1:9000, handler: x}\n",
         "t.yaml:1:1: plugin: unknown key 'plugin' (did you mean 'plugins'?)\n"
         "t.yaml:1:1: missing required key 'plugins' (e.g. plugins: {dir: ./plugins})"},
        {"plugin list with a path",
         "plugins: {dir: p, load: [a.so, ../b.so, a.so]}\n"
         "services:\n"
         "  - {name: a, listen: 127.0.0.1:9000, handler: x}\n",
         "t.yaml:1:32: plugins.load[1]: expected a file name in plugins.dir like upper.so, got '../b.so'\n"
         "t.yaml:1:41: plugins.load[2]: 'a.so' is listed twice"},
        {"plugin list not a list",
         "plugins: {dir: p, load: a.so}\n"
         "services:\n"
         "  - {name: a, listen: 127.0.0.1:9000, handler: x}\n",
         "t.yaml:1:25: plugins.load: expected a list of file names in plugins.dir, like [upper.so, echo.so], got "
         "'a.so'"},
        {"bad log level",
         "plugins: {dir: p}\n"
         "services:\n"
         "  - {name: a, listen: 127.0.0.1:9000, handler: x}\n"
         "logging: {level: infomation, format: xml}\n",
         "t.yaml:4:18: logging.level: expected one of 'trace', 'debug', 'information', 'notice', 'warning', 'error', "
         "'critical', 'fatal' (or info, warn, err, crit), got 'infomation' (did you mean 'information'?)\n"
         "t.yaml:4:38: logging.format: expected 'text' or 'json', got 'xml'"},
        {"log level typo of a short name",
         "plugins: {dir: p}\n"
         "services:\n"
         "  - {name: a, listen: 127.0.0.1:9000, handler: x}\n"
         "logging: {level: wanr}\n",
         "t.yaml:4:18: logging.level: expected one of 'trace', 'debug', 'information', 'notice', 'warning', 'error', "
         "'critical', 'fatal' (or info, warn, err, crit), got 'wanr' (did you mean 'warn'?)"},
        {"busy_message with a line feed inside", service("    busy_message: \"busy\\nretry later\"\n"),
         "t.yaml:6:19: services[0].busy_message: busy_message must be one line, without CR or LF inside (the host "
         "adds \\r\\n)"},
        {"busy_message with a carriage return inside", service("    busy_message: \"busy\\r go away\"\n"),
         "t.yaml:6:19: services[0].busy_message: busy_message must be one line, without CR or LF inside (the host "
         "adds \\r\\n)"},
        {"a second YAML document",
         "plugins: {dir: p}\n"
         "services:\n"
         "  - {name: a, listen: 127.0.0.1:9000, handler: x}\n"
         "---\n"
         "services: []\n",
         "t.yaml:4:1: a second YAML document starts here; a config is one document: remove this '---' and what "
         "follows, or merge it into the first"},
        {"a second, empty YAML document after an explicit first",
         "---\n"
         "plugins: {dir: p}\n"
         "services:\n"
         "  - {name: a, listen: 127.0.0.1:9000, handler: x}\n"
         "--- # more\n",
         "t.yaml:5:1: a second YAML document starts here; a config is one document: remove this '---' and what "
         "follows, or merge it into the first"},
        {"admin token a map",
         "plugins: {dir: p}\n"
         "services:\n"
         "  - {name: a, listen: 127.0.0.1:9000, handler: x}\n"
         "admin: {token: {a: b}}\n",
         "t.yaml:4:16: admin.token: expected a string, got a map"},
        {"shutdown timeout without unit",
         "plugins: {dir: p}\n"
         "services:\n"
         "  - {name: a, listen: 127.0.0.1:9000, handler: x}\n"
         "shutdown_timeout: 10\n",
         "t.yaml:4:19: shutdown_timeout: missing unit in '10': add one of ms, s, m, h (write 10s or 10ms)"},
        {"YAML syntax error",
         "plugins: {dir: p\n"
         "services: []\n",
         "t.yaml:2:9: YAML syntax error: end of map flow not found"},
        {"bad indentation",
         "plugins:\n"
         "  dir: p\n"
         " bad: 1\n",
         "t.yaml:3:2: YAML syntax error: end of map not found"},
        {"empty document", "", "t.yaml: the config is empty: expected a map with at least 'plugins' and 'services'"},
        {"only comments", "# nothing here\n",
         "t.yaml: the config is empty: expected a map with at least 'plugins' and 'services'"},
        {"top level is a list",
         "- a\n"
         "- b\n",
         "t.yaml:1:1: expected a map (keys: plugins, services, admin, logging, shutdown_timeout, user, drain_delay), "
         "got a list"},
        {"setting name is a list", service("    config: {[a]: 1}\n"),
         "t.yaml:6:14: services[0].config: setting names must be plain text, not a list or map"},
        {"empty plugins dir",
         "plugins: {dir: ''}\n"
         "services:\n"
         "  - {name: a, listen: 127.0.0.1:9000, handler: x}\n",
         "t.yaml:1:16: plugins.dir: expected a directory path, got an empty string"},
        {"name is a list",
         "plugins: {dir: p}\n"
         "services:\n"
         "  - {name: [a], listen: 127.0.0.1:9000, handler: x}\n",
         "t.yaml:3:12: services[0].name: expected a service name, got a list"},
        {"unix path too long",
         kPlugins + "services:\n  - {name: a, listen: 'unix:/" + std::string(120, 'x') + "', handler: x}\n",
         "t.yaml:3:23: services[0].listen: unix socket path "
         "'/"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxx' is too long (121 bytes, at most 107); use a shorter path"},
    };
    return cases;
}

std::string error_of(const std::string &yaml) {
    try {
        load_config_text(yaml, "t.yaml");
    } catch (const ConfigError &e) {
        return e.what();
    }
    return "(loaded without error)";
}

} // namespace

TEST(ConfigErrors, EachBadConfigGetsItsExactMessage) {
    ASSERT_GE(bad_configs().size(), 25u);
    for (const BadConfig &c : bad_configs())
        EXPECT_EQ(error_of(c.yaml), c.error) << c.what << "\n--- yaml ---\n" << c.yaml;
}
