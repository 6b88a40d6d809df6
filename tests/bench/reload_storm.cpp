// reload_storm — what a reload storm costs the clients. Starts portico with
// the test plugin "flip", runs N churning request/reply connections for T
// seconds without reloads, then the same load while flip.so is renamed over
// (alternating two builds) and SIGHUP sent every 100 ms, and prints p50/p99 latency,
// requests/s and failed requests for both, side by side with ratios.
//
//   reload_storm [--connections N] [--seconds T] [--reload-ms MS]
#include "harness/ConfigBuilder.h"
#include "harness/LineLoad.h"
#include "harness/Paths.h"
#include "harness/PluginFiles.h"
#include "harness/PorticoProcess.h"
#include "harness/TempDir.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <thread>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

struct Options {
    int connections = 32;
    double seconds = 5;
    int reload_ms = 100;
};

Options parse(int argc, char **argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--connections" && has_value) o.connections = std::atoi(argv[++i]);
        else if (arg == "--seconds" && has_value) o.seconds = std::atof(argv[++i]);
        else if (arg == "--reload-ms" && has_value) o.reload_ms = std::atoi(argv[++i]);
        else {
            std::fprintf(stderr, "usage: reload_storm [--connections N] [--seconds T] [--reload-ms MS]\n");
            std::exit(2);
        }
    }
    if (o.connections < 1 || o.seconds <= 0 || o.reload_ms < 1) {
        std::fprintf(stderr, "reload_storm: connections, seconds and reload-ms must be positive\n");
        std::exit(2);
    }
    return o;
}

struct Phase {
    double seconds = 0;
    LineLoadResult load;
    std::uint32_t p50_us = 0;
    std::uint32_t p99_us = 0;
    int swaps = 0;          // files renamed into place
    std::size_t applied = 0; // reloads the host logged as applied

    double per_second() const { return seconds > 0 ? static_cast<double>(load.round_trips) / seconds : 0; }
    std::uint64_t failed() const { return load.errors(); }
};

std::size_t applied_reloads(const PorticoProcess &host) {
    return lines_containing(host.log_text(), {"service 'flip' now uses flip"}).size();
}

Phase run_phase(const Options &o, PorticoProcess &host, std::uint16_t port, const fs::path &installed,
                bool storm, int &next_swap) {
    LineLoadSpec spec;
    spec.port = port;
    spec.connections = o.connections;
    spec.min_round_trips = 1;
    spec.max_round_trips = 50;
    spec.prefixes = {"A ", "B "};
    spec.record_latency = true;
    spec.seed = storm ? 2 : 1;

    Phase phase;
    const std::size_t applied_before = applied_reloads(host);
    const auto started = std::chrono::steady_clock::now();
    const auto end = started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                   std::chrono::duration<double>(o.seconds));
    LineLoad load(spec);
    auto next = started + Millis(o.reload_ms);
    while (std::chrono::steady_clock::now() < end) {
        if (!storm) {
            std::this_thread::sleep_until(end);
            break;
        }
        std::this_thread::sleep_until(std::min(next, end));
        if (std::chrono::steady_clock::now() >= end) break;
        replace_by_rename(test_plugin(next_swap++ % 2 == 0 ? "flip_b" : "flip_a"), installed);
        // SIGHUP makes each swap a reload now: the file watcher alone
        // debounces renames this close together into fewer reloads.
        host.send_signal(SIGHUP);
        ++phase.swaps;
        next += Millis(o.reload_ms);
    }
    phase.load = load.stop();
    phase.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    phase.p50_us = percentile(phase.load.latencies_us, 0.50);
    phase.p99_us = percentile(phase.load.latencies_us, 0.99);
    // Let the last swap land before counting what was applied.
    if (storm) wait_until([&] { return applied_reloads(host) - applied_before >= 1; }, 2s);
    phase.applied = applied_reloads(host) - applied_before;
    return phase;
}

double ratio(double storm, double calm) { return calm > 0 ? storm / calm : 0; }

void print_row(const char *what, double calm, double storm, bool integer) {
    if (integer)
        std::printf("  %-22s %14.0f %14.0f %9.2f\n", what, calm, storm, ratio(storm, calm));
    else
        std::printf("  %-22s %14.1f %14.1f %9.2f\n", what, calm, storm, ratio(storm, calm));
}

int run(const Options &o) {
    TempDir dir("portico-bench");
    const fs::path plugins = dir.subdir("plugins");
    const fs::path installed = plugins / "flip.so";
    fs::copy_file(test_plugin("flip_a"), installed);
    ConfigBuilder config;
    config.plugin_dir(plugins).plugins_option("drain_timeout", "5s");
    config.service("flip", "flip.reply").threads(8, o.connections * 2 + 16).option("max_queued", "1024");
    PorticoProcess host(dir, config.yaml());
    if (!host.wait_ready()) {
        std::fprintf(stderr, "reload_storm: portico did not start:\n%s\n", host.log_text().c_str());
        return 1;
    }
    const auto port = host.port("flip");

    int next_swap = 0;
    Options warm = o;
    warm.seconds = std::min(0.5, o.seconds);
    run_phase(warm, host, port, installed, false, next_swap);
    const Phase calm = run_phase(o, host, port, installed, false, next_swap);
    const Phase storm = run_phase(o, host, port, installed, true, next_swap);

    std::printf("reload_storm: %d connections (1-50 round trips each, then reconnect), %.1f s per phase, "
                "flip.so renamed over + SIGHUP every %d ms in the storm\n",
                o.connections, o.seconds, o.reload_ms);
    std::printf("  %-22s %14s %14s %9s\n", "", "no reloads", "reload storm", "ratio");
    print_row("requests/s", calm.per_second(), storm.per_second(), true);
    print_row("p50 latency (us)", calm.p50_us, storm.p50_us, true);
    print_row("p99 latency (us)", calm.p99_us, storm.p99_us, true);
    std::printf("  %-22s %14llu %14llu\n", "failed requests", static_cast<unsigned long long>(calm.failed()),
                static_cast<unsigned long long>(storm.failed()));
    std::printf("  %-22s %14llu %14llu\n", "connections", static_cast<unsigned long long>(calm.load.connections),
                static_cast<unsigned long long>(storm.load.connections));
    std::printf("  %-22s %14d %14d\n", "plugin files swapped", calm.swaps, storm.swaps);
    std::printf("  %-22s %14zu %14zu\n", "reloads applied", calm.applied, storm.applied);
    if (calm.failed() + storm.failed() > 0)
        std::printf("failures:\n  no reloads: %s\n  reload storm: %s\n", calm.load.summary().c_str(),
                    storm.load.summary().c_str());
    return 0;
}

} // namespace
} // namespace portico::test

int main(int argc, char **argv) {
    try {
        return portico::test::run(portico::test::parse(argc, argv));
    } catch (const std::exception &e) {
        std::fprintf(stderr, "reload_storm: %s\n", e.what());
        return 1;
    }
}
