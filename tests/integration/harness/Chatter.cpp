// Chatter.cpp — the round-trip loop; the result is written by the chatter's
// thread only, and read by the test after the join.
#include "harness/Chatter.h"

#include "harness/Elapsed.h"
#include "harness/HarnessError.h"

#include <utility>

namespace portico::test {

Chatter::Chatter(TcpClient &client, ChatterOptions options)
    : thread_([this, &client, options = std::move(options)] { run(client, options); }) {}

Chatter::~Chatter() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

ChatterResult Chatter::stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return result_;
}

void Chatter::run(TcpClient &client, const ChatterOptions &options) {
    try {
        while (!stop_) {
            const auto start = Clock::now();
            client.send(options.line);
            const auto reply = client.read_line(options.timeout);
            if (reply != options.reply)
                throw HarnessError("sent \"" + options.line + "\", got \"" + reply.value_or("<EOF>") + "\"");
            result_.latencies.push_back(since(start));
            result_.round_trips = ++round_trips_;
            if (options.pause > Millis(0)) std::this_thread::sleep_for(options.pause);
        }
    } catch (const std::exception &e) {
        result_.error = e.what();
    }
}

} // namespace portico::test
