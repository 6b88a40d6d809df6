// Chatter.h — a well-behaved client next to the misbehaving ones a test
// sends at the host: round trips on its own thread, one after another, until
// stopped; then how many there were, how long each took, and the first error.
//
//   TcpClient fast(port);
//   Chatter chatter(fast);
//   … the test's flood or slowloris …
//   const ChatterResult fast_result = chatter.stop();
//   EXPECT_EQ(fast_result.error, "");
#pragma once

#include "harness/Deadline.h"
#include "harness/TcpClient.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace portico::test {

struct ChatterOptions {
    std::string line = "tick\n";  // sent each round trip
    std::string reply = "TICK\n"; // what must come back
    Millis pause = 50ms;          // between round trips: a human-ish pace, well inside any timeout
    Millis timeout = 1s;          // for each reply
};

struct ChatterResult {
    int round_trips = 0;
    std::vector<Millis> latencies; // of each successful round trip, in order
    std::string error;             // "" when every round trip succeeded
};

class Chatter {
public:
    explicit Chatter(TcpClient &client, ChatterOptions options = {});
    ~Chatter();
    Chatter(const Chatter &) = delete;
    Chatter &operator=(const Chatter &) = delete;

    // Successful round trips so far.
    int round_trips() const { return round_trips_; }
    // Ends after the round trip in progress and joins the thread.
    ChatterResult stop();

private:
    void run(TcpClient &client, const ChatterOptions &options);

    std::atomic<bool> stop_{false};
    std::atomic<int> round_trips_{0};
    ChatterResult result_;
    std::thread thread_; // last: started once the rest is in place
};

} // namespace portico::test
