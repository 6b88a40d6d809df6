// SourceRateLimiter.cpp — lazy refill: a bucket is topped up from the time
// elapsed when its source next sends, so idle sources cost nothing.
#include "service/SourceRateLimiter.h"

#include <algorithm>

namespace portico::host {

SourceRateLimiter::SourceRateLimiter(const RateLimitConfig &config, std::size_t max_sources)
    : rate_(config.per_second), burst_(config.burst > 0 ? config.burst : config.per_second), max_sources_(max_sources) {
}

double SourceRateLimiter::refilled(const Bucket &bucket, Clock::time_point now) const {
    const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
    return std::min(burst_, bucket.tokens + std::max(0.0, elapsed) * rate_);
}

void SourceRateLimiter::forget_full(Clock::time_point now) {
    std::erase_if(buckets_, [&](const auto &entry) { return refilled(entry.second, now) >= burst_; });
}

bool SourceRateLimiter::allow(const Poco::Net::IPAddress &source, Clock::time_point now) {
    if (!enabled()) return true;
    std::string key(static_cast<const char *>(source.addr()), source.length());
    auto it = buckets_.find(key);
    if (it == buckets_.end()) {
        if (buckets_.size() >= max_sources_) forget_full(now);
        // More distinct busy sources than we track (a spoofed flood): new
        // ones wait until a tracked one goes quiet, rather than growing
        // memory without bound or letting every new address through.
        if (buckets_.size() >= max_sources_) return false;
        it = buckets_.emplace(std::move(key), Bucket{burst_, now}).first;
    }
    Bucket &bucket = it->second;
    bucket.tokens = refilled(bucket, now);
    bucket.updated = now;
    if (bucket.tokens < 1.0) return false;
    bucket.tokens -= 1.0;
    return true;
}

} // namespace portico::host
