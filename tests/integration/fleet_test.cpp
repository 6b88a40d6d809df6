// A fleet behind real balancers (issue 18.3): Debian's haproxy (send-proxy-v2)
// in front of three portico hosts on 127.0.0.2-4, each health-checked on its
// admin port's /ready. Under a client load that reconnects for every request, a
// new plugin version is rolled out host by host by packaging/rollout.sh, and
// one host is stopped with SIGTERM (drain_delay) and started again: not one
// request may fail or get a wrong reply, every host's access log names the
// real client, and per_source_max counts the client, not the balancer. nginx
// `stream` (proxy_protocol on) in front of one host is checked the same way.
#include "harness/ChildProcess.h"
#include "harness/ConfigBuilder.h"
#include "harness/Deadline.h"
#include "harness/ExternalTool.h"
#include "harness/HarnessError.h"
#include "harness/HttpClient.h"
#include "harness/Paths.h"
#include "harness/PorticoProcess.h"
#include "harness/Sockets.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace portico::test {
namespace {

constexpr const char *kClientAddress = "127.0.0.9"; // the load's source: neither a host's nor a balancer's
constexpr std::array<const char *, 3> kHostAddresses{"127.0.0.2", "127.0.0.3", "127.0.0.4"};
// Both balancers connect to the hosts from 127.0.0.1 (the kernel's source
// for a loopback destination): the only address a PROXY header is taken from.
constexpr const char *kBalancerAddress = "127.0.0.1";
// The per_source_max phase's clients, apart from the load's.
constexpr const char *kCappedClient = "127.0.0.10";
constexpr const char *kOtherClient = "127.0.0.11";

std::filesystem::path rollout_script() {
    return std::filesystem::path(PORTICO_SOURCE_DIR) / "packaging" / "rollout.sh";
}

// One portico of the fleet: its own folder, plugin folder (flip build A as
// flip.so), config and admin port, on its own loopback address. Service
// "fleet" takes the load behind a PROXY header (`proxy_protocol`: the
// balancer's version); with a `capped_port`, service "capped" (same plugin and
// header, per_source_max 2) is there for the per_source_max phase, so a
// session of the load still closing never counts against a tight limit.
struct FleetHost {
    std::string address;
    std::uint16_t port = 0;
    std::uint16_t capped_port = 0;
    std::uint16_t admin = 0;
    TempDir dir;
    std::filesystem::path plugins = dir.subdir("plugins");
    std::string yaml;
    std::unique_ptr<PorticoProcess> process;

    FleetHost(std::string host_address, std::uint16_t service_port, const std::string &proxy_protocol,
              std::uint16_t capped = 0)
        : address(std::move(host_address)), port(service_port), capped_port(capped), admin(free_tcp_port()) {
        std::filesystem::copy_file(test_plugin("flip_a"), plugins / "flip.so");
        const std::string proxy_from = std::string("[") + kBalancerAddress + "/32]";
        ConfigBuilder config;
        config.plugin_dir(plugins).plugins_option("watch", "true").shutdown_timeout("5s");
        config.service("fleet", "flip.reply")
            .listen(address + ":" + std::to_string(port))
            .option("access_log", "true")
            .option("proxy_protocol", proxy_protocol)
            .option("proxy_from", proxy_from);
        if (capped_port != 0)
            config.service("capped", "flip.reply")
                .listen(address + ":" + std::to_string(capped_port))
                .option("proxy_protocol", proxy_protocol)
                .option("proxy_from", proxy_from)
                .option("per_source_max", "2");
        config.raw("admin:\n  listen: " + address + ":" + std::to_string(admin) + "\n");
        config.raw("drain_delay: 2s\n");
        yaml = config.yaml();
    }

    void start() {
        process.reset(); // a stopped predecessor's log goes with it
        process = std::make_unique<PorticoProcess>(dir, yaml);
        if (!process->wait_ready())
            throw HarnessError("fleet host " + address + " did not start:\n" + process->log_text());
    }
    std::string admin_url() const { return "http://" + address + ":" + std::to_string(admin); }
    // How many connections this process served, by its access log.
    std::size_t served() const { return process ? process->count_log_lines({"access service=fleet"}) : 0; }
};

// Every connection host's running process logged on service "fleet" names
// the load's client (kClientAddress) as its peer and the balancer as its
// proxy. The one exception allowed is the test's own probe of the balancer's
// port: from the balancer's address, through it (so named by a header too),
// and gone before sending a byte. `probes` adds up those lines over the
// fleet, for the caller to check there was at most the one.
void expect_access_log_names_the_client(const FleetHost &host, std::size_t &probes) {
    // One snapshot, whole lines only: the host may still be logging the
    // load's last sessions, and every count must be of the same lines.
    std::string log = host.process->log_text();
    log.erase(log.rfind('\n') + 1);
    const std::string proxy = std::string(" proxy=") + kBalancerAddress + ":";
    const std::size_t all = lines_containing(log, {"access service=fleet "}).size();
    const std::size_t from_client =
        lines_containing(log, {"access service=fleet peer=" + std::string(kClientAddress) + ":", proxy}).size();
    const std::size_t probe = lines_containing(log, {"access service=fleet peer=" + std::string(kBalancerAddress) + ":",
                                                     proxy, " bytes_in=0 "})
                                  .size();
    probes += probe;
    EXPECT_GT(from_client, 0u) << host.address << ":\n" << log;
    EXPECT_EQ(from_client + probe, all) << host.address << " logged another peer than the client " << kClientAddress
                                        << ":\n"
                                        << log;
}

// per_source_max 2 on service "capped", reached through the balancer's
// `frontend`: two connections of kCappedClient stay open and served, its
// third is refused (and logged with the client's address, via the balancer),
// while kOtherClient, through the same balancer, is served.
void expect_per_source_max_on_the_client(FleetHost &host, std::uint16_t frontend, const std::string &balancer_log) {
    const std::regex held_reply(R"([AB] held\n)");
    std::vector<TcpClient> held;
    for (int i = 0; i < 2; ++i) {
        held.push_back(connect_from(kCappedClient, frontend));
        held.back().send("held\n");
        const auto reply = held.back().read_line(10s);
        ASSERT_TRUE(reply && std::regex_match(*reply, held_reply))
            << "connection " << i + 1 << " of " << kCappedClient << ": " << reply.value_or("<eof>") << "\n"
            << balancer_log << host.process->log_text();
    }
    TcpClient third = connect_from(kCappedClient, frontend);
    third.send("third\n");
    const auto rest = third.read_until_closed(10s);
    ASSERT_TRUE(rest.has_value()) << "the third connection of " << kCappedClient << " stayed open";
    EXPECT_EQ(*rest, "") << "the third connection of " << kCappedClient << " was served";
    EXPECT_TRUE(host.process->wait_for_log_line({"service 'capped': refused " + std::string(kCappedClient) + ":",
                                                 "(via proxy " + std::string(kBalancerAddress) + ":",
                                                 "per_source_max reached for this source"},
                                                10s))
        << host.process->log_text();
    TcpClient other = connect_from(kOtherClient, frontend);
    other.send("other\n");
    const auto reply = other.read_line(10s);
    EXPECT_TRUE(reply && std::regex_match(*reply, std::regex(R"([AB] other\n)")))
        << kOtherClient << " through the same balancer: " << reply.value_or("<eof>") << "\n"
        << host.process->log_text();
    // The two held connections are still the client's, still served.
    for (auto &connection : held) {
        connection.send("still\n");
        const auto again = connection.read_line(10s);
        EXPECT_TRUE(again && std::regex_match(*again, std::regex(R"([AB] still\n)"))) << again.value_or("<eof>");
    }
}

// Clients that connect through the balancer from kClientAddress, one request
// per connection, each reply checked: "A <line>" or "B <line>" (the two flip
// builds), nothing else.
class ReconnectingLoad {
public:
    static constexpr std::chrono::milliseconds kRequestPause{5};

    ReconnectingLoad(std::uint16_t port, int clients) {
        for (int c = 0; c < clients; ++c)
            threads_.emplace_back([this, port, c] { run(port, c); });
    }
    ~ReconnectingLoad() { stop(); }

    void stop() {
        stopping_ = true;
        for (auto &thread : threads_)
            if (thread.joinable()) thread.join();
    }
    std::uint64_t ok() const { return ok_.load(); }
    std::uint64_t from_b() const { return from_b_.load(); }
    std::uint64_t failed() const { return failed_.load(); }
    std::uint64_t mismatched() const { return mismatched_.load(); }
    std::string first_problems() const {
        std::lock_guard lock(mutex_);
        return problems_;
    }

private:
    void run(std::uint16_t port, int client) {
        for (std::uint64_t n = 0; !stopping_; ++n) {
            // Every request leaves two sockets in TIME_WAIT for 60 s (client
            // to balancer, balancer to host); unpaced, one run used half the
            // loopback's ephemeral ports and a second run within the minute
            // ran out of them. Paced, each client still reconnects ~150 times
            // a second.
            if (n > 0) std::this_thread::sleep_for(kRequestPause);
            const std::string line = "client " + std::to_string(client) + " request " + std::to_string(n) + "\n";
            std::optional<std::string> reply;
            try {
                TcpClient connection = connect_from(kClientAddress, port);
                connection.send(line);
                reply = connection.read_line();
            } catch (const std::exception &e) {
                failed_++;
                note(std::string("failed: ") + e.what());
                continue;
            }
            if (reply == "A " + line) {
                ok_++;
            } else if (reply == "B " + line) {
                ok_++;
                from_b_++;
            } else {
                mismatched_++;
                note("mismatched: sent '" + line + "', got '" + reply.value_or("<eof>") + "'");
            }
        }
    }
    void note(const std::string &problem) {
        std::lock_guard lock(mutex_);
        if (problems_.size() < 4000) problems_ += problem + "\n";
    }

    std::atomic<bool> stopping_{false};
    std::atomic<std::uint64_t> ok_{0}, from_b_{0}, failed_{0}, mismatched_{0};
    mutable std::mutex mutex_;
    std::string problems_;
    std::vector<std::thread> threads_;
};

// haproxy in the foreground (-db) as the test user, health-checking each
// host's /ready every 100 ms: one 503 takes a host out, two 200s put it back.
// It does not retry a refused connection elsewhere, so only readiness and
// drain_delay keep the clients from seeing a stopping host.
// Every server gets a PROXY v2 header (send-proxy-v2); the checks, on the
// admin port, get none. Frontend "capped" leads to the first host's service
// "capped" only.
std::string haproxy_config(std::uint16_t frontend, std::uint16_t capped_frontend,
                           const std::vector<std::unique_ptr<FleetHost>> &hosts) {
    std::string cfg = "global\n"
                      "  maxconn 512\n"
                      "defaults\n"
                      "  mode tcp\n"
                      "  timeout connect 2s\n"
                      "  timeout client 10s\n"
                      "  timeout server 10s\n"
                      // No retry on another server: a host that refused a
                      // connection would show as a failed request.
                      "  retries 0\n"
                      "frontend fleet\n"
                      "  bind 127.0.0.1:" +
                      std::to_string(frontend) +
                      "\n"
                      "  default_backend portico\n"
                      "backend portico\n"
                      "  balance roundrobin\n"
                      "  option httpchk GET /ready\n"
                      "  http-check expect status 200\n"
                      "  default-server inter 100ms fall 1 rise 2 send-proxy-v2\n";
    for (std::size_t i = 0; i < hosts.size(); ++i)
        cfg += "  server host" + std::to_string(i + 1) + " " + hosts[i]->address + ":" +
               std::to_string(hosts[i]->port) + " check port " + std::to_string(hosts[i]->admin) + "\n";
    cfg += "frontend capped\n"
           "  bind 127.0.0.1:" +
           std::to_string(capped_frontend) +
           "\n"
           "  default_backend capped\n"
           "backend capped\n"
           "  server host1 " +
           hosts[0]->address + ":" + std::to_string(hosts[0]->capped_port) + " send-proxy-v2\n";
    return cfg;
}

// A port free on every address the test uses (each host binds it on its own).
std::uint16_t fleet_port() {
    return free_tcp_port();
}

TEST(Fleet, HaproxyRollsAPluginOutAndRestartsAHostWithoutAFailedRequest) {
    const auto haproxy = find_in_path("haproxy");
    if (!haproxy) GTEST_SKIP() << "haproxy is not installed (Debian package haproxy; `make deps` installs it)";
    require_tool("curl", "curl");
    require_tool("python3", "python3");

    const std::uint16_t service_port = fleet_port();
    std::vector<std::unique_ptr<FleetHost>> hosts;
    for (const char *address : kHostAddresses)
        hosts.push_back(std::make_unique<FleetHost>(address, service_port, "v2", hosts.empty() ? fleet_port() : 0));
    for (auto &host : hosts)
        host->start();

    TempDir lb;
    const std::uint16_t frontend = free_tcp_port();
    const std::uint16_t capped_frontend = free_tcp_port();
    const auto cfg = lb.write_file("haproxy.cfg", haproxy_config(frontend, capped_frontend, hosts));
    ChildProcess balancer(*haproxy, {"-db", "-f", cfg.string()});
    ASSERT_TRUE(wait_until([&] { return TcpClient::probe_connect(frontend) == 0; }, 10s, 20ms)) << balancer.output();

    ReconnectingLoad load(frontend, 4);
    // Every host in rotation and serving.
    ASSERT_TRUE(wait_until(
        [&] {
            for (const auto &host : hosts)
                if (host->served() < 5) return false;
            return true;
        },
        20s, 20ms))
        << "not every host was served through haproxy; problems:\n"
        << load.first_problems() << balancer.output();

    // (a) flip build B, host by host, by the operators' script.
    const ToolResult rollout = [&] {
        std::vector<std::string> args{rollout_script().string(),      "--name", "flip", "--timeout", "20",
                                      test_plugin("flip_b").string(), "B"};
        for (const auto &host : hosts)
            args.push_back(host->plugins.string() + "@" + host->admin_url());
        return run_tool("/bin/sh", args, 90s);
    }();
    ASSERT_TRUE(rollout.status == ExitStatus::exited(0)) << rollout.describe();
    const std::uint64_t b_before = load.from_b();
    ASSERT_TRUE(wait_until([&] { return load.from_b() > b_before + 20; }, 10s, 20ms)) << load.first_problems();

    // (b) SIGTERM with drain_delay: /ready goes 503, haproxy takes the host
    // out, then it stops; started again, it is back in rotation once ready.
    FleetHost &stopped = *hosts[1];
    stopped.process->send_signal(SIGTERM);
    ASSERT_EQ(stopped.process->wait_exit(20s), ExitStatus::exited(0)) << stopped.process->log_text();
    stopped.start();
    ASSERT_TRUE(wait_until([&] { return stopped.served() >= 5; }, 20s, 20ms))
        << "the restarted host got no requests back; problems:\n"
        << load.first_problems() << balancer.output();

    load.stop();
    EXPECT_EQ(load.failed(), 0u) << load.first_problems();
    EXPECT_EQ(load.mismatched(), 0u) << load.first_problems();
    EXPECT_GT(load.ok(), 100u);
    std::size_t probes = 0;
    for (const auto &host : hosts)
        expect_access_log_names_the_client(*host, probes);
    EXPECT_LE(probes, 1u) << "more connections without a byte than the test's one probe";
    // Every host serves B now: rebound by the roll-out, or (the restarted one) loaded at start.
    for (const auto &host : hosts)
        EXPECT_GT(host->process->count_log_lines({"service 'fleet' now uses flip B"}) +
                      host->process->count_log_lines({"service 'fleet' listening on", "plugin version B"}),
                  0u)
            << host->process->log_text();

    expect_per_source_max_on_the_client(*hosts[0], capped_frontend, balancer.output());
}

TEST(Fleet, NginxStreamInFrontOfOneHostServesTheLoad) {
    const std::filesystem::path nginx = "/usr/sbin/nginx";
    const std::filesystem::path stream_module = "/usr/lib/nginx/modules/ngx_stream_module.so";
    if (!std::filesystem::exists(nginx) || !std::filesystem::exists(stream_module))
        GTEST_SKIP() << "nginx with its stream module is not installed (Debian packages nginx and "
                        "libnginx-mod-stream; `make deps` installs them)";

    // nginx writes v1 headers; `any` would take them as well.
    FleetHost host(kHostAddresses[0], fleet_port(), "v1", fleet_port());
    host.start();
    TempDir proxy;
    const std::uint16_t frontend = free_tcp_port();
    const std::uint16_t capped_frontend = free_tcp_port();
    const std::string conf = "load_module " + stream_module.string() +
                             ";\n"
                             "daemon off;\n"
                             "master_process off;\n"
                             "pid " +
                             (proxy.path() / "nginx.pid").string() +
                             ";\n"
                             "error_log stderr notice;\n"
                             "events { worker_connections 256; }\n"
                             "stream {\n"
                             "  server {\n"
                             "    listen 127.0.0.1:" +
                             std::to_string(frontend) +
                             ";\n"
                             "    proxy_pass " +
                             host.address + ":" + std::to_string(host.port) +
                             ";\n"
                             "    proxy_protocol on;\n"
                             "  }\n"
                             "  server {\n"
                             "    listen 127.0.0.1:" +
                             std::to_string(capped_frontend) +
                             ";\n"
                             "    proxy_pass " +
                             host.address + ":" + std::to_string(host.capped_port) +
                             ";\n"
                             "    proxy_protocol on;\n"
                             "  }\n"
                             "}\n";
    const auto path = proxy.write_file("nginx.conf", conf);
    ChildProcess relay(nginx, {"-p", proxy.path().string(), "-c", path.string(), "-e", "stderr"});
    ASSERT_TRUE(wait_until([&] { return TcpClient::probe_connect(frontend) == 0; }, 10s, 20ms)) << relay.output();

    ReconnectingLoad load(frontend, 2);
    ASSERT_TRUE(wait_until([&] { return load.ok() >= 200; }, 20s, 20ms)) << load.first_problems() << relay.output();
    load.stop();
    EXPECT_EQ(load.failed(), 0u) << load.first_problems();
    EXPECT_EQ(load.mismatched(), 0u) << load.first_problems();
    std::size_t probes = 0;
    expect_access_log_names_the_client(host, probes);
    EXPECT_LE(probes, 1u) << "more connections without a byte than the test's one probe";
    expect_per_source_max_on_the_client(host, capped_frontend, relay.output());
    relay.send_signal(SIGQUIT);
    EXPECT_FALSE(relay.wait_exit(10s).is_running()) << relay.output();
}

TEST(Fleet, TwoHostsOnOneMachineShareAPortWithReusePort) {
    const std::uint16_t port = free_tcp_port();
    // Host one serves flip build A, host two build B: a reply names its host.
    std::array<TempDir, 2> dirs;
    std::vector<std::unique_ptr<PorticoProcess>> hosts;
    for (int i = 0; i < 2; ++i) {
        dirs[i].copy_in(test_plugin(i == 0 ? "flip_a" : "flip_b"), "plugins/flip.so");
        ConfigBuilder config;
        config.plugin_dir(dirs[i].path() / "plugins").plugins_option("watch", "false");
        config.service("fleet", "flip.reply").listen("127.0.0.1:" + std::to_string(port)).option("reuse_port", "true");
        hosts.push_back(std::make_unique<PorticoProcess>(dirs[i], config.yaml()));
        ASSERT_TRUE(hosts.back()->wait_ready()) << hosts.back()->log_text();
    }
    std::set<char> seen;
    ASSERT_TRUE(wait_until(
        [&] {
            TcpClient client(port);
            client.send("x\n");
            const auto reply = client.read_line();
            if (reply && !reply->empty()) seen.insert(reply->front());
            return seen.size() == 2;
        },
        20s, 1ms))
        << "the kernel sent every connection to one host";

    // One stops: once its listener is closed, the other serves every connection.
    hosts[0]->send_signal(SIGTERM);
    ASSERT_EQ(hosts[0]->wait_exit(15s), ExitStatus::exited(0)) << hosts[0]->log_text();
    for (int i = 0; i < 50; ++i) {
        TcpClient client(port);
        client.send("x\n");
        EXPECT_EQ(client.read_line(), "B x\n");
    }
}

} // namespace
} // namespace portico::test
