// process_limits_test.cpp — in `mode: process` the admission limits hold for
// the service, not per worker (issue 21 item 1): max_connections,
// per_source_max and accept_rate count every worker's connections, in both
// worker engines, and the slots a worker killed by SIGKILL held come back.
#include "harness/ConfigBuilder.h"
#include "harness/Elapsed.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/Refusal.h"
#include "harness/Sockets.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"
#include "harness/Text.h"

#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace portico::test {
namespace {

// A connection the host served, and the pid of the worker serving it.
struct Held {
    TcpClient client;
    std::string pid;
};

class ProcessLimits : public ::testing::TestWithParam<std::string> {
protected:
    // crash.crash ("pid" answers its worker's pid) in 2 workers of the
    // engine under test, saying kBusy to whoever it refuses.
    void start(const std::function<void(ServiceSpec &)> &tune) {
        ConfigBuilder config;
        config.plugin_dir(make_plugin_dir(dir_, {test_plugin("crash")}));
        ServiceSpec &spec = config.service("crash", "crash.crash")
                                .option("mode", "process")
                                .option("workers", "2")
                                .option("engine", GetParam())
                                .option("busy_message", yaml_quote(kBusyMessage));
        tune(spec);
        host_ = std::make_unique<PorticoProcess>(dir_, config.yaml());
        ASSERT_TRUE(host_->wait_ready());
        ASSERT_TRUE(wait_until(
            [&] { return lines_containing(host_->log_text(), {"of service 'crash' serving"}).size() >= 2; }, 10s));
        port_ = host_->port("crash");
    }

    // Asks a new connection (from `source`) for its worker's pid: served
    // connections go to `held`; returns false when it was refused with kBusy.
    bool connect(std::vector<Held> &held, const std::string &source = "127.0.0.1") {
        TcpClient client = source == "127.0.0.1" ? TcpClient(port_) : connect_from(source, port_);
        client.send("pid\n");
        const auto line = client.read_line();
        if (!line) {
            ADD_FAILURE() << "a connection from " << source << " was closed without a word";
            return false;
        }
        if (*line == kBusy) {
            EXPECT_TRUE(client.read_until_closed(2s).has_value()) << "a refused connection stayed open";
            return false;
        }
        held.push_back(Held{std::move(client), strip(*line)});
        return true;
    }

    // Opens `attempts` connections one after another; returns how many were served.
    int fill(std::vector<Held> &held, int attempts, const std::string &source = "127.0.0.1") {
        int served = 0;
        for (int i = 0; i < attempts; ++i)
            served += connect(held, source) ? 1 : 0;
        return served;
    }

    TempDir dir_;
    std::unique_ptr<PorticoProcess> host_;
    std::uint16_t port_ = 0;
};

// Per worker, 2 workers would serve up to 8: the service serves 4.
TEST_P(ProcessLimits, MaxConnectionsHoldsAcrossWorkers) {
    start([](ServiceSpec &s) { s.option("max_connections", "4"); });
    std::vector<Held> held;
    EXPECT_EQ(fill(held, 12), 4) << "max_connections 4 must count both workers' connections";
    EXPECT_TRUE(host_->wait_for_log("max_connections reached", 5s));
    for (Held &h : held)
        EXPECT_EQ(h.client.round_trip("ping\n"), "PING\n") << "a served connection stopped answering";

    // A freed slot is free for whichever worker takes the next connection.
    held.clear();
    std::vector<Held> again;
    EXPECT_TRUE(wait_until([&] { return connect(again); }, 5s, 20ms));
    EXPECT_EQ(fill(again, 8), 3) << "after the first 4 left, 4 in all are served again";
}

TEST_P(ProcessLimits, PerSourceMaxHoldsAcrossWorkers) {
    start([](ServiceSpec &s) { s.option("max_connections", "100").option("per_source_max", "2"); });
    std::vector<Held> held;
    EXPECT_EQ(fill(held, 6, "127.0.0.1"), 2);
    EXPECT_TRUE(host_->wait_for_log("per_source_max reached", 5s));
    EXPECT_EQ(fill(held, 6, "127.0.0.2"), 2) << "another source has its own allowance, across workers too";

    // One of 127.0.0.1's leaves: it may connect once more, on either worker.
    held.erase(held.begin());
    std::vector<Held> again;
    EXPECT_TRUE(wait_until([&] { return connect(again, "127.0.0.1"); }, 5s, 20ms));
    EXPECT_EQ(fill(again, 3, "127.0.0.1"), 0);
}

// One new connection per second per source, 3 at once: per worker this would
// let 6 through in a burst.
TEST_P(ProcessLimits, AcceptRateHoldsAcrossWorkers) {
    start([](ServiceSpec &s) { s.option("accept_rate", "{per_second: 1, burst: 3}"); });
    std::vector<Held> held;
    const auto started = Clock::now();
    const int served = fill(held, 10);
    // A token comes back each second the burst took (a slow machine).
    const auto refills = static_cast<int>(since(started) / 1000ms);
    EXPECT_GE(served, 3);
    EXPECT_LE(served, 3 + refills) << "accept_rate's burst of 3 must count both workers' accepts";
    EXPECT_TRUE(host_->wait_for_log("exceeds accept_rate", 5s));
}

// A worker killed while it holds connections never releases them: the master
// takes its share back when it reaps it, so the service admits up to the
// limit again instead of refusing forever what nobody serves.
TEST_P(ProcessLimits, AKilledWorkersSlotsComeBack) {
    start([](ServiceSpec &s) { s.option("max_connections", "4").option("per_source_max", "4"); });
    std::vector<Held> held;
    ASSERT_EQ(fill(held, 4), 4);
    ASSERT_FALSE(connect(held)) << "the 5th must be refused while 4 are held";
    const std::string victim = held.front().pid;
    int victims = 0;
    for (const Held &h : held)
        victims += h.pid == victim ? 1 : 0;
    ASSERT_EQ(::kill(std::stoi(victim), SIGKILL), 0);
    EXPECT_TRUE(host_->wait_for_log(std::regex("worker " + victim + " of service 'crash' killed by signal 9"), 5s));
    EXPECT_TRUE(host_->wait_for_log(std::regex("[0-9]+ connection\\(s\\) worker " + victim + " held freed"), 5s));
    std::erase_if(held, [&](const Held &h) { return h.pid == victim; });
    ASSERT_EQ(static_cast<int>(held.size()), 4 - victims);

    // Up to the limit again: the survivors plus as many new ones as died.
    EXPECT_TRUE(wait_until([&] { return connect(held); }, 10s, 50ms)) << "the killed worker's slots never came back";
    fill(held, 8);
    EXPECT_EQ(held.size(), 4u) << "admitted up to max_connections again, and no further";
    for (Held &h : held)
        EXPECT_EQ(h.client.round_trip("ping\n"), "PING\n");
}

INSTANTIATE_TEST_SUITE_P(Engines, ProcessLimits, ::testing::Values("threads", "events"),
                         [](const auto &info) { return info.param; });

} // namespace
} // namespace portico::test
