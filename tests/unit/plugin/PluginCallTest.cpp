// Tests of host/plugin/PluginCall: a call that returns in time is reported
// as returned; one that does not is abandoned, counted as stuck, and no
// longer counted once it finally returns.
#include "plugin/PluginCall.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <thread>

namespace portico::host {
namespace {

using namespace std::chrono_literals;

bool wait_for_stuck(const PluginCaller &caller, uint64_t expected) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (caller.stuck() != expected) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

TEST(PluginCall, ACallThatReturnsIsReportedAndItsStateIsReleased) {
    const PluginCaller caller(10s);
    auto owned = std::make_shared<int>(0);
    EXPECT_TRUE(caller.run([owned] { *owned = 42; }));
    EXPECT_EQ(*owned, 42);
    EXPECT_EQ(owned.use_count(), 1) << "the thread must let go of the call before reporting it returned";
    EXPECT_EQ(caller.stuck(), 0u);
}

TEST(PluginCall, ACallPastItsDeadlineIsAbandonedAndCountedUntilItReturns) {
    const PluginCaller caller(50ms);
    auto release = std::make_shared<std::promise<void>>();
    std::shared_future<void> released = release->get_future().share();
    auto owned = std::make_shared<int>(0);
    EXPECT_FALSE(caller.run([released, owned] { released.wait(); }));
    EXPECT_EQ(caller.stuck(), 1u);
    const PluginCaller copy = caller;
    EXPECT_EQ(copy.stuck(), 1u) << "copies share the count";
    EXPECT_GT(owned.use_count(), 1) << "the abandoned call still owns what it uses";

    release->set_value();
    EXPECT_TRUE(wait_for_stuck(caller, 0)) << "a call that returned late is no longer stuck";
    EXPECT_TRUE(caller.run([] {}));
}

} // namespace
} // namespace portico::host
