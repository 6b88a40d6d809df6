// process_metrics_test.cpp — `mode: process`: the master's /metrics and
// /status show what the workers did, per worker slot and in total, and a
// worker's figures outlive it: totals equal what the clients did through a
// crash, and no counter goes backwards when a worker is killed under load.
#include "harness/AdminHost.h"
#include "harness/Deadline.h"
#include "harness/Json.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PrometheusParser.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"
#include "harness/Text.h"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace portico::test {
namespace {

const std::string kProcessService = "    mode: process\n    workers: 2\n    threads: {min: 1, max: 32}\n";

// One sample of the exposition text, looked up by its exact name and labels
// as the host writes them; nullopt when the line is absent.
std::optional<double> sample(const std::string &metrics, const std::string &key) {
    std::istringstream in(metrics);
    std::string line;
    while (std::getline(in, line))
        if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 && line[key.size()] == ' ')
            return std::stod(line.substr(key.size() + 1));
    return std::nullopt;
}

double must(const std::string &metrics, const std::string &key) {
    const auto v = sample(metrics, key);
    if (!v) throw HarnessError("no sample " + key + " in:\n" + metrics);
    return *v;
}

std::string svc(const std::string &name) {
    return "{service=\"" + name + "\"}";
}
std::string worker(const std::string &name, int slot) {
    return "{service=\"" + name + "\",worker=\"" + std::to_string(slot) + "\"}";
}

std::string metrics(const AdminHost &host) {
    const HttpResponse r = host.get("/metrics");
    if (r.status != 200) throw HarnessError("/metrics answered " + std::to_string(r.status));
    return r.body;
}

// What the clients of this test did, to compare with the host's totals.
struct Done {
    std::uint64_t connections = 0;
    std::uint64_t bytes_in = 0; // sent by the clients
    std::uint64_t bytes_out = 0;
};

// A connection that asked which worker serves it: "pid\n" out, "<pid>\n" back.
struct Served {
    TcpClient client;
    std::string pid;
};

Served ask_pid(std::uint16_t port, Done &done) {
    TcpClient client(port);
    client.send("pid\n");
    const auto line = client.read_line();
    if (!line) throw HarnessError("the service closed a fresh connection");
    ++done.connections;
    done.bytes_in += 4;
    done.bytes_out += line->size();
    return Served{std::move(client), strip(*line)};
}

AdminHostSpec crash_and_upper(const TempDir &dir) {
    AdminHostSpec spec;
    spec.plugin_dir = make_plugin_dir(dir, {test_plugin("crash"), shipped_plugin("upper")});
    spec.services = {{"crash", "crash.crash", kProcessService}, {"upper", "upper.upper", ""}};
    return spec;
}

TEST(ProcessMetrics, TotalsEqualWhatClientsDidThroughAWorkerCrash) {
    TempDir dir;
    AdminHost host(dir, crash_and_upper(dir));
    ASSERT_TRUE(host.process().wait_for_log(std::regex("worker [0-9]+ of service 'crash' serving"), 10s));
    const auto port = host.port("crash");

    // Connections that stay open on both workers, so the crash takes some
    // counted ones down with it.
    Done done;
    std::vector<Served> open;
    std::set<std::string> pids;
    for (int i = 0; i < 24 && pids.size() < 2; ++i) {
        if (i > 0) std::this_thread::sleep_for(100ms); // let the worker that lost the accept race poll again
        open.push_back(ask_pid(port, done));
        pids.insert(open.back().pid);
    }
    ASSERT_EQ(pids.size(), 2u) << "24 connections all went to one worker";
    for (Served &s : open) {
        s.client.send("hello\n");
        ASSERT_EQ(s.client.read_line(), "HELLO\n");
        done.bytes_in += 6;
        done.bytes_out += 6;
    }

    // Both slots show up while the workers run, and add up to the total.
    std::string before;
    ASSERT_TRUE(wait_until(
        [&] {
            before = metrics(host);
            return sample(before, "portico_service_connections_total" + svc("crash")) == done.connections;
        },
        5s))
        << before;
    EXPECT_EQ(must(before, "portico_worker_connections_total" + worker("crash", 0)) +
                  must(before, "portico_worker_connections_total" + worker("crash", 1)),
              done.connections);
    EXPECT_EQ(before.find("portico_worker_connections_total{service=\"upper\""), std::string::npos)
        << "a threads service has no worker series";

    // The crash: the victim's worker reads "segv\n" (counted) and dies; its
    // other connections die with it.
    const std::string victim = open.front().pid;
    open.front().client.send("segv\n");
    done.bytes_in += 5;
    EXPECT_TRUE(open.front().client.read_until_closed(5s).has_value());
    ASSERT_TRUE(host.process().wait_for_log(std::regex("worker " + victim + " of service 'crash' .*respawning"), 5s));

    // New connections after the crash, on whichever worker.
    for (int i = 0; i < 3; ++i) {
        TcpClient client(port);
        EXPECT_EQ(client.round_trip("after\n"), "AFTER\n");
        ++done.connections;
        done.bytes_in += 6;
        done.bytes_out += 6;
    }
    for (Served &s : open)
        if (s.pid != victim) {
            s.client.send("still\n");
            EXPECT_EQ(s.client.read_line(), "STILL\n");
            done.bytes_in += 6;
            done.bytes_out += 6;
        }

    std::string after;
    const bool equal = wait_until(
        [&] {
            after = metrics(host);
            return sample(after, "portico_worker_restarts_total" + worker("crash", 0)).value_or(0) +
                           sample(after, "portico_worker_restarts_total" + worker("crash", 1)).value_or(0) ==
                       1 &&
                   sample(after, "portico_service_connections_total" + svc("crash")) == done.connections &&
                   sample(after, "portico_service_received_bytes_total" + svc("crash")) == done.bytes_in &&
                   sample(after, "portico_service_sent_bytes_total" + svc("crash")) == done.bytes_out;
        },
        5s);
    EXPECT_TRUE(equal) << "the clients made " << done.connections << " connections, sent " << done.bytes_in
                       << " bytes and received " << done.bytes_out << "; /metrics says:\n"
                       << after;
    for (const char *family : {"portico_service_connections_total", "portico_service_received_bytes_total",
                               "portico_service_sent_bytes_total"})
        EXPECT_GE(must(after, family + svc("crash")), must(before, family + svc("crash"))) << family;
    double per_worker = 0;
    for (int slot = 0; slot < 2; ++slot)
        per_worker += must(after, "portico_worker_received_bytes_total" + worker("crash", slot));
    EXPECT_EQ(per_worker, done.bytes_in);
    EXPECT_EQ(must(after, "portico_worker_restarts_total" + worker("crash", 0)) +
                  must(after, "portico_worker_restarts_total" + worker("crash", 1)),
              1);

    // /status has the same, per worker, with the pid now serving each slot.
    const Json status = Json::parse(host.get("/status").body);
    const Json *crash = nullptr;
    for (const Json &s : status["services"].array())
        if (s["name"].string() == "crash") crash = &s;
    ASSERT_NE(crash, nullptr);
    EXPECT_EQ((*crash)["connections"]["total"].number(), done.connections);
    ASSERT_EQ((*crash)["workers"].size(), 2u);
    double status_total = 0;
    for (const Json &w : (*crash)["workers"].array()) {
        status_total += w["connections"]["total"].number();
        EXPECT_NE(std::to_string(static_cast<long>(w["pid"].number())), victim);
    }
    EXPECT_EQ(status_total, done.connections);

    // The real Prometheus parser accepts the new families.
    const ParsedMetrics parsed = parse_with_prometheus_client(dir, after);
    EXPECT_TRUE(parsed.has("portico_worker_connections_total{service=\"crash\",worker=\"1\"}"));
}

TEST(ProcessMetrics, CountersNeverGoBackwardsWhenAWorkerIsKilledUnderLoad) {
    TempDir dir;
    AdminHost host(dir, crash_and_upper(dir));
    ASSERT_TRUE(host.process().wait_for_log(std::regex("worker [0-9]+ of service 'crash' serving"), 10s));
    const auto port = host.port("crash");

    // Two clients churn request/reply connections; a reply they got was
    // counted by some worker, dead or alive.
    struct Load {
        std::atomic<bool> stop{false};
        std::atomic<std::uint64_t> completed{0}, attempted{0};
        std::vector<std::thread> clients;
        void end() {
            stop = true;
            for (std::thread &t : clients)
                if (t.joinable()) t.join();
        }
        ~Load() { end(); }
    } load;
    for (int i = 0; i < 2; ++i)
        load.clients.emplace_back([&load, port] {
            while (!load.stop) {
                ++load.attempted;
                try {
                    TcpClient client(port);
                    if (client.round_trip("load\n") == "LOAD\n") ++load.completed;
                } catch (const std::exception &) {
                    // a connection of the killed worker: counted or not, it is in `attempted`
                }
            }
        });
    std::atomic<std::uint64_t> &completed = load.completed;
    std::atomic<std::uint64_t> &attempted = load.attempted;

    const std::vector<std::string> families{"portico_service_connections_total", "portico_service_received_bytes_total",
                                            "portico_service_sent_bytes_total"};
    std::vector<double> last(families.size(), 0);
    std::vector<std::string> backwards;
    const auto scrape = [&] {
        const std::string text = metrics(host);
        for (std::size_t i = 0; i < families.size(); ++i) {
            const double v = must(text, families[i] + svc("crash"));
            if (v < last[i])
                backwards.push_back(families[i] + " went from " + std::to_string(last[i]) + " to " + std::to_string(v));
            last[i] = v;
        }
        return text;
    };

    ASSERT_TRUE(wait_until([&] { return completed.load() >= 50; }, 10s));
    scrape();
    // The victim: the pid serving slot 0 now, from /status.
    pid_t victim = 0;
    const Json status = Json::parse(host.get("/status").body);
    for (const Json &s : status["services"].array())
        if (s["name"].string() == "crash") victim = static_cast<pid_t>(s["workers"][std::size_t{0}]["pid"].number());
    ASSERT_GT(victim, 0);
    ASSERT_EQ(::kill(victim, SIGSEGV), 0);
#if defined(__SANITIZE_ADDRESS__)
    // ASan takes the SIGSEGV itself, reports and exits(1) instead of dying of it.
    const std::string how = "(killed by signal 11 \\(SIGSEGV\\)|exited with status [0-9]+)";
#else
    const std::string how = "killed by signal 11 \\(SIGSEGV\\)";
#endif
    EXPECT_TRUE(host.process().wait_for_log(
        std::regex("worker " + std::to_string(victim) + " of service 'crash' " + how + "; respawning"), 5s));
    const auto after_kill = completed.load();
    EXPECT_TRUE(wait_until(
        [&] {
            const std::string text = scrape();
            return sample(text, "portico_worker_restarts_total" + worker("crash", 0)) == 1 &&
                   completed.load() >= after_kill + 50;
        },
        10s))
        << "no respawn in slot 0, or the load stalled after the kill";
    load.end();

    // Once every session has ended, the total holds every completed
    // connection and no more than were attempted.
    std::string text;
    EXPECT_TRUE(wait_until(
        [&] {
            text = scrape();
            return sample(text, "portico_service_connections_active" + svc("crash")) == 0;
        },
        5s));
    EXPECT_TRUE(backwards.empty()) << backwards.front();
    const double total = must(text, "portico_service_connections_total" + svc("crash"));
    EXPECT_GE(total, static_cast<double>(completed.load()));
    EXPECT_LE(total, static_cast<double>(attempted.load()));
    EXPECT_EQ(total, must(text, "portico_worker_connections_total" + worker("crash", 0)) +
                         must(text, "portico_worker_connections_total" + worker("crash", 1)));
    EXPECT_GE(must(text, "portico_service_received_bytes_total" + svc("crash")), 5.0 * completed.load());
}

} // namespace
} // namespace portico::test
