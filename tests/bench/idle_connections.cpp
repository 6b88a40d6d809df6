// idle_connections — what an idle connection costs the host. Starts
// portico serving echo.echo or upper.upper, in mode threads with one worker
// per connection or in mode events (one loop, a fiber per connection),
// opens N connections (each answered once, then left idle), lets them sit
// for --settle seconds, and prints the host's resident memory, threads and
// memory mappings before and after, per idle connection, and a fresh
// client's round trip (median of 200) with none held and while they are
// held. With --nginx, then does the same against nginx (one process,
// keep-alive HTTP, one request per connection) in the same run.
//
//   idle_connections [--plugin echo|upper] [--mode threads|events] [--connections N]
//                    [--stack SIZE] [--settle SECONDS] [--sources N] [--nginx]
//                                   (defaults upper, threads, 10000, 64KiB, 3 s, 1 source address)
#include "harness/ChildProcess.h"
#include "harness/ConfigBuilder.h"
#include "harness/ConnectStorm.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/ProcStatus.h"
#include "harness/Sockets.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace portico::test {
namespace {

struct Options {
    std::string plugin = "upper";
    std::string mode = "threads";
    int connections = 10'000;
    std::string stack = "64KiB";
    int settle_seconds = 3;
    int sources = 1;
    bool nginx = false;
};

[[noreturn]] void usage() {
    std::fprintf(stderr, "usage: idle_connections [--plugin echo|upper] [--mode threads|events] [--connections N] "
                         "[--stack SIZE] [--settle SECONDS] [--sources N] [--nginx]\n");
    std::exit(2);
}

Options parse(int argc, char **argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--plugin" && has_value)
            o.plugin = argv[++i];
        else if (arg == "--mode" && has_value)
            o.mode = argv[++i];
        else if (arg == "--connections" && has_value)
            o.connections = std::atoi(argv[++i]);
        else if (arg == "--stack" && has_value)
            o.stack = argv[++i];
        else if (arg == "--settle" && has_value)
            o.settle_seconds = std::atoi(argv[++i]);
        else if (arg == "--sources" && has_value)
            o.sources = std::atoi(argv[++i]);
        else if (arg == "--nginx")
            o.nginx = true;
        else
            usage();
    }
    if (o.mode != "threads" && o.mode != "events") {
        std::fprintf(stderr, "idle_connections: --mode is threads or events, not '%s'\n", o.mode.c_str());
        std::exit(2);
    }
    if (o.plugin != "echo" && o.plugin != "upper") {
        std::fprintf(stderr, "idle_connections: --plugin is echo or upper, not '%s'\n", o.plugin.c_str());
        std::exit(2);
    }
    if (o.connections < 1 || o.settle_seconds < 0 || o.sources < 1 || o.sources > 250) {
        std::fprintf(stderr, "idle_connections: --connections must be positive, --settle not negative, --sources "
                             "1 to 250\n");
        std::exit(2);
    }
    return o;
}

struct Sample {
    long long rss_kib;
    long long threads;
    long long mappings;
};

Sample sample(pid_t pid) {
    return {rss_kib(pid), thread_count(pid), mapping_count(pid)};
}

// A fresh client's round trip: connect, send `probe`, read the first line of
// the reply. The median of kRoundTrips in a row, in microseconds. From a
// source address of its own: towards one server port, connect() from an
// address whose ephemeral ports the held connections fill searches them
// for a free one (milliseconds at 15 000), which is the client's kernel,
// not the server.
constexpr int kRoundTrips = 200;
const std::string kFreshSource = "127.0.0.254";

double fresh_round_trip_us(std::uint16_t port, const std::string &probe) {
    std::vector<double> us;
    us.reserve(kRoundTrips);
    for (int i = 0; i < kRoundTrips; ++i) {
        const auto start = std::chrono::steady_clock::now();
        TcpClient client = connect_from(kFreshSource, port);
        client.send(probe);
        client.read_line();
        us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(us.begin(), us.end());
    return us[us.size() / 2];
}

// Holds o.connections idle connections made with `storm` against the server
// `pid`, and prints what they cost it, and a fresh client's round trip with
// none held and while they are held. Returns whether all were served.
bool measure(const char *server, pid_t pid, StormOptions storm, const Options &o) {
    const double rtt_none = fresh_round_trip_us(storm.port, storm.probe);
    const Sample before = sample(pid);
    const auto start = std::chrono::steady_clock::now();
    storm.in_flight = 256;
    storm.attempt_timeout = 30s;
    // One source address has about 28 000 ephemeral ports towards one
    // server port: beyond that, --sources spreads the connections over
    // 127.0.0.1, 127.0.0.2, ... (all of 127/8 is loopback on Linux).
    StormResult idle;
    std::vector<HeldSockets> held;
    for (int i = 0; i < o.sources; ++i) {
        storm.attempts = o.connections / o.sources + (i < o.connections % o.sources ? 1 : 0);
        if (o.sources > 1) storm.source = "127.0.0." + std::to_string(i + 1);
        StormResult part = connect_storm(storm);
        idle.served += part.served;
        idle.refused += part.refused;
        idle.connect_failed += part.connect_failed;
        idle.hung += part.hung;
        if (idle.first_failure.empty()) idle.first_failure = part.first_failure;
        held.push_back(std::move(part.held));
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // Long enough for what a server gives back from connections that wait
    // (portico's stack sweep runs once a second).
    std::this_thread::sleep_for(std::chrono::seconds(o.settle_seconds));
    const Sample after = sample(pid);
    const double rtt_held = fresh_round_trip_us(storm.port, storm.probe);

    const double per_connection =
        idle.served > 0 ? static_cast<double>(after.rss_kib - before.rss_kib) / idle.served : 0;
    std::printf("%s: %d connections requested, measured after %d s idle\n", server, o.connections, o.settle_seconds);
    std::printf("  %-32s %d (refused %d, failed %d, hung %d) in %.2f s\n", "idle connections held", idle.served,
                idle.refused, idle.connect_failed, idle.hung, seconds);
    std::printf("  %-32s %lld -> %lld\n", "threads", before.threads, after.threads);
    std::printf("  %-32s %lld -> %lld\n", "memory mappings", before.mappings, after.mappings);
    std::printf("  %-32s %lld -> %lld KiB (+%.1f MiB)\n", "RSS", before.rss_kib, after.rss_kib,
                static_cast<double>(after.rss_kib - before.rss_kib) / 1024);
    std::printf("  %-32s %.2f KiB\n", "RSS per idle connection", per_connection);
    std::printf("  %-32s %.0f us with none held, %.0f us while held (%.2fx)\n", "fresh client's round trip", rtt_none,
                rtt_held, rtt_none > 0 ? rtt_held / rtt_none : 0);
    if (!idle.first_failure.empty()) std::printf("  first failure: %s\n", idle.first_failure.c_str());
    held.clear();
    return idle.served == o.connections;
}

bool measure_portico(const Options &o) {
    TempDir dir("portico-bench");
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin(o.plugin)}));
    const std::string max = std::to_string(o.connections + 8);
    ServiceSpec &service = config.service(o.plugin, o.plugin + "." + o.plugin);
    if (o.mode == "events")
        service.option("mode", "events").option("events", "{loops: 1, stack: " + o.stack + "}");
    else
        service.option("threads", "{min: 1, max: " + max + ", stack: " + o.stack + "}");
    service.option("max_connections", max).option("backlog", "1024");
    PorticoProcess host(dir, config.yaml());
    if (!host.wait_ready()) {
        std::fprintf(stderr, "idle_connections: portico did not start:\n%s\n", host.log_text().c_str());
        return false;
    }
    const auto port = host.port(o.plugin);
    const std::string probe = "warm\n";
    const std::string reply = o.plugin == "upper" ? "WARM\n" : "warm\n";
    {
        TcpClient warm(port); // the first session loads what every later one shares
        warm.send(probe);
        warm.read_line();
    }
    const std::string name = "portico " + o.plugin + "." + o.plugin + ", mode " + o.mode + ", stack " + o.stack;
    return measure(name.c_str(), host.pid(), {.port = port, .probe = probe, .reply = reply}, o);
}

std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
    ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

bool measure_nginx(const Options &o) {
    const std::filesystem::path nginx = "/usr/sbin/nginx";
    if (!std::filesystem::exists(nginx)) {
        std::printf("nginx: not installed (/usr/sbin/nginx): skipped\n");
        return true;
    }
    TempDir dir("portico-bench-nginx");
    const std::string d = dir.path().string();
    const std::uint16_t port = free_port();
    {
        std::ofstream conf(dir.path() / "nginx.conf");
        conf << "daemon off;\nmaster_process off;\nworker_processes 1;\npid " << d << "/nginx.pid;\n"
             << "error_log " << d << "/error.log;\nworker_rlimit_nofile " << o.connections + 1024 << ";\n"
             << "events { worker_connections " << o.connections + 512 << "; }\n"
             << "http {\n  access_log off;\n  keepalive_timeout 600s;\n  client_body_temp_path " << d
             << ";\n  proxy_temp_path " << d << ";\n  fastcgi_temp_path " << d << ";\n  uwsgi_temp_path " << d
             << ";\n  scgi_temp_path " << d << ";\n  server {\n    listen 127.0.0.1:" << port
             << " backlog=1024;\n    location / { default_type text/plain; return 200 \"warm\\n\"; }\n  }\n}\n";
    }
    ChildProcess server(nginx, {"-p", d, "-c", (dir.path() / "nginx.conf").string()});
    if (!wait_until([&] { return TcpClient::probe_connect(port) == 0; }, 5s, 20ms)) {
        std::fprintf(stderr, "idle_connections: nginx did not start:\n%s\n", server.output().c_str());
        return false;
    }
    const std::string request = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    {
        TcpClient warm(port);
        warm.send(request);
        warm.read_line();
    }
    return measure("nginx (one process, keep-alive HTTP/1.1, one request each)", server.pid(),
                   {.port = port, .probe = request, .reply_suffix = "\r\n\r\nwarm\n"}, o);
}

int run(const Options &o) {
    // Both this process and the server (which inherits the limit) hold one
    // descriptor per connection.
    const std::size_t fds = raise_fd_limit(static_cast<std::size_t>(o.connections) + 1024);
    if (fds < static_cast<std::size_t>(o.connections) + 256) {
        std::fprintf(stderr,
                     "idle_connections: RLIMIT_NOFILE allows %zu descriptors, %d connections need about %d; "
                     "raise the hard limit (ulimit -Hn) or pass --connections %zu\n",
                     fds, o.connections, o.connections + 256, fds > 256 ? fds - 256 : 0);
        return 1;
    }
    bool ok = measure_portico(o);
    if (o.nginx) ok = measure_nginx(o) && ok;
    return ok ? 0 : 1;
}

} // namespace
} // namespace portico::test

int main(int argc, char **argv) {
    try {
        return portico::test::run(portico::test::parse(argc, argv));
    } catch (const std::exception &e) {
        std::fprintf(stderr, "idle_connections: %s\n", e.what());
        return 1;
    }
}
