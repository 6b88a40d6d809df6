// idle_connections — what an idle connection costs the host. Starts
// portico serving upper.upper, in mode threads with one worker per
// connection or in mode events (one loop, a fiber per connection), opens N
// connections (each answered once, then left idle), and prints the host's
// resident memory and thread count before and after, per idle connection.
//
//   idle_connections [--mode threads|events] [--connections N] [--stack SIZE]
//                                   (defaults threads, 10000, 64KiB: the worker's or the fiber's stack)
#include "harness/ConfigBuilder.h"
#include "harness/ConnectStorm.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/ProcStatus.h"
#include "harness/Sockets.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace portico::test {
namespace {

struct Options {
    std::string mode = "threads";
    int connections = 10'000;
    std::string stack = "64KiB";
};

Options parse(int argc, char **argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--mode" && has_value) o.mode = argv[++i];
        else if (arg == "--connections" && has_value) o.connections = std::atoi(argv[++i]);
        else if (arg == "--stack" && has_value) o.stack = argv[++i];
        else {
            std::fprintf(stderr, "usage: idle_connections [--mode threads|events] [--connections N] [--stack SIZE]\n");
            std::exit(2);
        }
    }
    if (o.mode != "threads" && o.mode != "events") {
        std::fprintf(stderr, "idle_connections: --mode is threads or events, not '%s'\n", o.mode.c_str());
        std::exit(2);
    }
    if (o.connections < 1) {
        std::fprintf(stderr, "idle_connections: --connections must be positive\n");
        std::exit(2);
    }
    return o;
}

int run(const Options &o) {
    // Both this process and the host (which inherits the limit) hold one
    // descriptor per connection.
    const std::size_t fds = raise_fd_limit(static_cast<std::size_t>(o.connections) + 1024);
    if (fds < static_cast<std::size_t>(o.connections) + 256) {
        std::fprintf(stderr,
                     "idle_connections: RLIMIT_NOFILE allows %zu descriptors, %d connections need about %d; "
                     "raise the hard limit (ulimit -Hn) or pass --connections %zu\n",
                     fds, o.connections, o.connections + 256, fds > 256 ? fds - 256 : 0);
        return 1;
    }

    TempDir dir("portico-bench");
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    const std::string max = std::to_string(o.connections + 8);
    ServiceSpec &upper = config.service("upper", "upper.upper");
    if (o.mode == "events")
        upper.option("mode", "events").option("events", "{loops: 1, stack: " + o.stack + "}");
    else
        upper.option("threads", "{min: 1, max: " + max + ", stack: " + o.stack + "}");
    upper.option("max_connections", max).option("backlog", "1024");
    PorticoProcess host(dir, config.yaml());
    if (!host.wait_ready()) {
        std::fprintf(stderr, "idle_connections: portico did not start:\n%s\n", host.log_text().c_str());
        return 1;
    }
    const auto port = host.port("upper");
    {
        TcpClient warm(port); // the first session loads what every later one shares
        warm.send("warm\n");
        warm.read_line();
    }
    const long long rss_before = rss_kib(host.pid());
    const long long threads_before = thread_count(host.pid());

    const auto start = std::chrono::steady_clock::now();
    StormResult idle = connect_storm({.port = port, .attempts = o.connections, .in_flight = 256, .attempt_timeout = 30s});
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const long long rss_after = rss_kib(host.pid());
    const long long threads_after = thread_count(host.pid());

    const int held = idle.served;
    const double per_connection = held > 0 ? static_cast<double>(rss_after - rss_before) / held : 0;
    std::printf("idle_connections: mode %s, stack %s, %d connections requested\n", o.mode.c_str(), o.stack.c_str(),
                o.connections);
    std::printf("  %-32s %d (refused %d, failed %d, hung %d) in %.2f s\n", "idle connections held", held,
                idle.refused, idle.connect_failed, idle.hung, seconds);
    std::printf("  %-32s %lld -> %lld\n", "host threads", threads_before, threads_after);
    std::printf("  %-32s %lld -> %lld KiB (+%.1f MiB)\n", "host RSS", rss_before, rss_after,
                static_cast<double>(rss_after - rss_before) / 1024);
    std::printf("  %-32s %.1f KiB\n", "RSS per idle connection", per_connection);
    if (!idle.first_failure.empty()) std::printf("  first failure: %s\n", idle.first_failure.c_str());

    idle.held.close_all();
    return held == o.connections ? 0 : 1;
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
