// DurationHistogram.h — session durations of one service in fixed buckets,
// recorded lock-free by the sessions and read by /metrics and /status.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace portico::host {

class DurationHistogram {
public:
    // Upper bounds in seconds (Prometheus "le"); one more bucket holds the rest.
    static constexpr std::array<double, 13> kBounds{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800};
    static constexpr std::size_t kBuckets = kBounds.size() + 1;

    // A consistent-enough copy: count is the sum of the buckets it holds.
    struct Snapshot {
        std::array<uint64_t, kBuckets> buckets{}; // per bucket, not cumulative
        uint64_t count = 0;
        double sum_seconds = 0;
    };

    void record(std::chrono::nanoseconds duration) {
        const double seconds = std::chrono::duration<double>(duration).count();
        std::size_t i = 0;
        while (i < kBounds.size() && seconds > kBounds[i])
            ++i;
        buckets_[i].fetch_add(1, std::memory_order_relaxed);
        const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
        sum_micros_.fetch_add(static_cast<uint64_t>(micros < 0 ? 0 : micros), std::memory_order_relaxed);
    }

    Snapshot snapshot() const {
        Snapshot s;
        for (std::size_t i = 0; i < kBuckets; ++i) {
            s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
            s.count += s.buckets[i];
        }
        s.sum_seconds = static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
        return s;
    }

private:
    std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
    std::atomic<uint64_t> sum_micros_{0};
};

} // namespace portico::host
