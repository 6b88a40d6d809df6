// SourceRateLimiter.h — the per-source-address token bucket behind a UDP
// service's rate_limit: each source IP may send per_second datagrams on
// average and `burst` at once. Memory is bounded: at most max_sources
// buckets are tracked. Not thread-safe: the service's receive thread owns it.
#pragma once

#include "config/Config.h"

#include <Poco/Net/IPAddress.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace portico::host {

class SourceRateLimiter {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t kMaxSources = 65'536;

    explicit SourceRateLimiter(const RateLimitConfig &config, std::size_t max_sources = kMaxSources);

    bool enabled() const { return rate_ > 0; }
    // Takes one token from `source`'s bucket; false if it had none. Always
    // true when the limiter is disabled.
    bool allow(const Poco::Net::IPAddress &source, Clock::time_point now);
    std::size_t tracked() const { return buckets_.size(); }

private:
    struct Bucket {
        double tokens;
        Clock::time_point updated;
    };
    double refilled(const Bucket &bucket, Clock::time_point now) const;
    // Forgets the sources whose bucket is full again: they are
    // indistinguishable from a source never seen.
    void forget_full(Clock::time_point now);

    const double rate_;  // tokens per second
    const double burst_; // bucket size
    const std::size_t max_sources_;
    std::unordered_map<std::string, Bucket> buckets_; // key: the address's raw bytes
};

} // namespace portico::host
