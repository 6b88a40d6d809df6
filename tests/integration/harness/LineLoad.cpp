// LineLoad.cpp — one blocking TcpClient per thread; every failure is
// classified and counted, never thrown, so the caller sees all of them.
#include "harness/LineLoad.h"

#include "harness/HarnessError.h"
#include "harness/Sockets.h"
#include "harness/TcpClient.h"

#include <algorithm>
#include <optional>
#include <random>

namespace portico::test {
namespace {

constexpr std::size_t kMaxProblems = 8;

void note(LineLoadResult &r, std::string problem) {
    if (r.problems.size() < kMaxProblems) r.problems.push_back(std::move(problem));
}

// The prefix index `reply` answers `request` with, or nullopt.
std::optional<std::size_t> match(const std::vector<std::string> &prefixes, const std::string &request,
                                 const std::string &reply) {
    for (std::size_t i = 0; i < prefixes.size(); ++i)
        if (reply.size() == prefixes[i].size() + request.size() && reply.starts_with(prefixes[i]) &&
            reply.ends_with(request))
            return i;
    return std::nullopt;
}

} // namespace

std::string LineLoadResult::summary() const {
    std::string out = std::to_string(connections) + " connections, " + std::to_string(round_trips) + " right replies (";
    for (std::size_t i = 0; i < by_prefix.size(); ++i)
        out += (i ? " / " : "") + std::to_string(by_prefix[i]);
    out += " per version); failed connects " + std::to_string(failed_connects) + ", failed " + std::to_string(failed) +
           ", truncated " + std::to_string(truncated) + ", mismatched " + std::to_string(mismatched) + ", mixed " +
           std::to_string(mixed);
    for (const auto &p : problems)
        out += "\n  " + p;
    return out;
}

void LineLoadResult::merge(LineLoadResult &&o) {
    connections += o.connections;
    round_trips += o.round_trips;
    failed_connects += o.failed_connects;
    failed += o.failed;
    truncated += o.truncated;
    mismatched += o.mismatched;
    mixed += o.mixed;
    by_prefix.resize(std::max(by_prefix.size(), o.by_prefix.size()));
    for (std::size_t i = 0; i < o.by_prefix.size(); ++i)
        by_prefix[i] += o.by_prefix[i];
    latencies_us.insert(latencies_us.end(), o.latencies_us.begin(), o.latencies_us.end());
    for (auto &p : o.problems)
        note(*this, std::move(p));
}

LineLoad::LineLoad(LineLoadSpec spec) : spec_(std::move(spec)), results_(static_cast<std::size_t>(spec_.connections)) {
    for (int i = 0; i < spec_.connections; ++i)
        threads_.emplace_back([this, i] { run(i); });
}

LineLoad::~LineLoad() {
    if (!threads_.empty()) stop();
}

LineLoadResult LineLoad::stop() {
    stopping_ = true;
    for (auto &t : threads_)
        t.join();
    threads_.clear();
    LineLoadResult all;
    all.by_prefix.resize(spec_.prefixes.size());
    for (auto &r : results_)
        all.merge(std::move(r));
    results_.clear();
    return all;
}

void LineLoad::run(int index) {
    LineLoadResult &r = results_[static_cast<std::size_t>(index)];
    r.by_prefix.resize(spec_.prefixes.size());
    std::mt19937 rng(spec_.seed * 7919u + static_cast<unsigned>(index));
    std::uniform_int_distribution<int> rounds(spec_.min_round_trips, spec_.max_round_trips);
    const std::string tag = "t" + std::to_string(index) + "-";
    for (std::uint64_t conn_no = 0; !stopping_; ++conn_no) {
        std::optional<TcpClient> client;
        try {
            if (spec_.spread_sources)
                client.emplace(connect_from("127.0.0." + std::to_string(10 + index % 200), spec_.port, spec_.timeout));
            else
                client.emplace(spec_.port, spec_.timeout);
        } catch (const HarnessError &e) {
            ++r.failed_connects;
            note(r, std::string("connect: ") + e.what());
            continue;
        }
        const int planned = rounds(rng);
        std::optional<std::size_t> version; // the prefix this connection answers with
        bool broken = false;
        for (int i = 0; i < planned && !stopping_ && !broken; ++i) {
            const std::string request = tag + std::to_string(conn_no) + "-" + std::to_string(i) + "\n";
            const auto started = std::chrono::steady_clock::now();
            std::optional<std::string> reply;
            try {
                client->send(request, spec_.timeout);
                reply = client->read_line(spec_.timeout);
            } catch (const HarnessError &e) {
                ++r.failed;
                note(r, std::string("round trip: ") + e.what());
                broken = true;
                break;
            }
            if (!reply) {
                ++r.failed;
                note(r, "connection closed with no reply to " + request.substr(0, request.size() - 1));
                broken = true;
                break;
            }
            if (!reply->ends_with('\n')) {
                ++r.truncated;
                note(r, "truncated reply \"" + *reply + "\" to " + request.substr(0, request.size() - 1));
                broken = true;
                break;
            }
            const auto which = match(spec_.prefixes, request, *reply);
            if (!which) {
                ++r.mismatched;
                note(r, "reply \"" + reply->substr(0, reply->size() - 1) + "\" to " +
                            request.substr(0, request.size() - 1));
                continue;
            }
            if (spec_.record_latency)
                r.latencies_us.push_back(static_cast<std::uint32_t>(
                    std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started)
                        .count()));
            if (version && *version != *which) {
                ++r.mixed;
                note(r, "connection " + tag + std::to_string(conn_no) + " answered by \"" + spec_.prefixes[*version] +
                            "\" then by \"" + spec_.prefixes[*which] + "\"");
            }
            version = which;
            ++r.by_prefix[*which];
            ++r.round_trips;
            ++round_trips_;
        }
        if (!broken) ++r.connections;
    }
}

std::uint32_t percentile(std::vector<std::uint32_t> &values, double p) {
    if (values.empty()) return 0;
    const auto k = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
    return values[k];
}

} // namespace portico::test
