// LineLoad.h — a line-protocol load client: N threads, each holding one
// connection at a time and churning (a random number of request/reply round
// trips, then close and reconnect), checking every reply against the
// prefixes the versions of a plugin may answer with ("A <line>", "B <line>").
// Used by the hot-reload tests and by tests/bench/reload_storm.
#pragma once

#include "harness/Deadline.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace portico::test {

struct LineLoadSpec {
    std::uint16_t port = 0;
    int connections = 32;    // threads, each with one connection open at a time
    int min_round_trips = 1; // per connection, uniformly chosen
    int max_round_trips = 20;
    std::vector<std::string> prefixes; // a reply is prefix + request line
    Millis timeout = 5s;               // per connect / send / reply
    bool record_latency = false;       // keep every round trip's time (the bench)
    unsigned seed = 1;
    // Each thread connects from its own 127.0.0.N (N from 10): a fast churn
    // would otherwise run out of ephemeral ports towards one address (its
    // closed connections sit in TIME_WAIT for a minute).
    bool spread_sources = false;
};

struct LineLoadResult {
    std::uint64_t connections = 0;           // connections that ended as planned (or at stop)
    std::uint64_t round_trips = 0;           // replies that were right
    std::uint64_t failed_connects = 0;       // refused, reset or timed out while connecting
    std::uint64_t failed = 0;                // a request that got no reply: reset, EOF, timeout
    std::uint64_t truncated = 0;             // a reply cut short (no '\n' before EOF)
    std::uint64_t mismatched = 0;            // a reply that is no prefix + the request
    std::uint64_t mixed = 0;                 // a connection answered by two versions
    std::vector<std::uint64_t> by_prefix;    // right replies per prefix
    std::vector<std::uint32_t> latencies_us; // when record_latency
    std::vector<std::string> problems;       // the first few, described

    std::uint64_t errors() const { return failed_connects + failed + truncated + mismatched + mixed; }
    std::string summary() const;
    void merge(LineLoadResult &&other);
};

class LineLoad {
public:
    // Starts the threads at once.
    explicit LineLoad(LineLoadSpec spec);
    // Stops them if stop() was not called.
    ~LineLoad();
    LineLoad(const LineLoad &) = delete;
    LineLoad &operator=(const LineLoad &) = delete;

    // Right replies so far, all threads.
    std::uint64_t round_trips() const { return round_trips_.load(); }
    // Ends every connection after its current round trip, joins, merges.
    LineLoadResult stop();

private:
    void run(int index);

    const LineLoadSpec spec_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint64_t> round_trips_{0};
    std::vector<LineLoadResult> results_; // one per thread
    std::vector<std::thread> threads_;
};

// p in [0,1] of `values` (sorted in place); 0 when empty.
std::uint32_t percentile(std::vector<std::uint32_t> &values, double p);

} // namespace portico::test
