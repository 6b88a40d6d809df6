// SourceRateLimiterTest.cpp — the per-source token bucket: burst, refill,
// independence of sources, and bounded memory under many sources.
#include "service/SourceRateLimiter.h"

#include <gtest/gtest.h>

using portico::host::RateLimitConfig;
using portico::host::SourceRateLimiter;
using Poco::Net::IPAddress;
using namespace std::chrono_literals;

namespace {

const SourceRateLimiter::Clock::time_point t0{};

int allowed(SourceRateLimiter &limiter, const IPAddress &ip, int tries, SourceRateLimiter::Clock::time_point at) {
    int ok = 0;
    for (int i = 0; i < tries; ++i) ok += limiter.allow(ip, at) ? 1 : 0;
    return ok;
}

TEST(SourceRateLimiter, DisabledAllowsEverything) {
    SourceRateLimiter limiter(RateLimitConfig{});
    EXPECT_FALSE(limiter.enabled());
    EXPECT_EQ(allowed(limiter, IPAddress("127.0.0.1"), 10'000, t0), 10'000);
    EXPECT_EQ(limiter.tracked(), 0u);
}

TEST(SourceRateLimiter, BurstThenRefillAtTheRate) {
    SourceRateLimiter limiter(RateLimitConfig{10, 5});
    const IPAddress ip("10.0.0.1");
    EXPECT_EQ(allowed(limiter, ip, 20, t0), 5);
    EXPECT_EQ(allowed(limiter, ip, 20, t0 + 100ms), 1);
    EXPECT_EQ(allowed(limiter, ip, 20, t0 + 600ms), 5);
    EXPECT_EQ(allowed(limiter, ip, 20, t0 + 60s), 5) << "never more than burst at once";
}

TEST(SourceRateLimiter, BurstDefaultsToTheRate) {
    SourceRateLimiter limiter(RateLimitConfig{7, 0});
    EXPECT_EQ(allowed(limiter, IPAddress("10.0.0.1"), 20, t0), 7);
}

TEST(SourceRateLimiter, SourcesHaveTheirOwnBuckets) {
    SourceRateLimiter limiter(RateLimitConfig{1, 2});
    EXPECT_EQ(allowed(limiter, IPAddress("10.0.0.1"), 5, t0), 2);
    EXPECT_EQ(allowed(limiter, IPAddress("10.0.0.2"), 5, t0), 2);
    EXPECT_EQ(allowed(limiter, IPAddress("::1"), 5, t0), 2);
}

TEST(SourceRateLimiter, MemoryStaysBoundedAndQuietSourcesAreForgotten) {
    SourceRateLimiter limiter(RateLimitConfig{1, 1}, 4);
    for (int i = 1; i <= 4; ++i) EXPECT_TRUE(limiter.allow(IPAddress("10.0.0." + std::to_string(i)), t0));
    EXPECT_FALSE(limiter.allow(IPAddress("10.0.0.5"), t0)) << "every tracked source is busy: a new one waits";
    EXPECT_EQ(limiter.tracked(), 4u);
    EXPECT_TRUE(limiter.allow(IPAddress("10.0.0.5"), t0 + 2s)) << "refilled sources are forgotten to make room";
    EXPECT_LE(limiter.tracked(), 4u);
}

} // namespace
