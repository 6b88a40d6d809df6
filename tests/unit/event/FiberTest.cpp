// FiberTest.cpp — the stack switch itself: a fiber runs until it suspends,
// continues where it left off, keeps its locals, unwinds its own exceptions,
// and an overflow hits the guard page instead of other memory.
#include "event/Fiber.h"

#include <gtest/gtest.h>

#include <cmath>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using portico::host::Fiber;
using portico::host::FiberStack;

namespace {

constexpr std::size_t kStack = 256 * 1024;

// A body with state: appends to a log, suspending between steps.
struct Steps {
    std::vector<std::string> log;
    int steps = 0;
    static void body(void *self) {
        auto &s = *static_cast<Steps *>(self);
        for (int i = 0; i < s.steps; ++i) {
            s.log.push_back("step " + std::to_string(i));
            Fiber::current()->suspend();
        }
        s.log.push_back("done");
    }
};

TEST(Fiber, RunsUntilItSuspendsAndContinuesWhereItLeftOff) {
    Steps steps;
    steps.steps = 2;
    Fiber fiber(FiberStack(kStack), &Steps::body, &steps);
    EXPECT_TRUE(steps.log.empty()) << "constructing must not run the body";
    fiber.resume();
    EXPECT_EQ(steps.log, (std::vector<std::string>{"step 0"}));
    EXPECT_FALSE(fiber.finished());
    fiber.resume();
    EXPECT_EQ(steps.log.back(), "step 1");
    fiber.resume();
    EXPECT_EQ(steps.log.back(), "done");
    EXPECT_TRUE(fiber.finished());
    fiber.resume(); // a finished fiber is not run again
    EXPECT_EQ(steps.log.size(), 3u);
}

TEST(Fiber, CurrentIsTheRunningFiberAndNullOutside) {
    struct Probe {
        Fiber *seen = nullptr;
        static void body(void *self) { static_cast<Probe *>(self)->seen = Fiber::current(); }
    } probe;
    EXPECT_EQ(Fiber::current(), nullptr);
    Fiber fiber(FiberStack(kStack), &Probe::body, &probe);
    fiber.resume();
    EXPECT_EQ(probe.seen, &fiber);
    EXPECT_EQ(Fiber::current(), nullptr);
}

// Locals (integer and floating point) live on the fiber's own stack across
// switches, while other fibers run and clobber every register they like.
TEST(Fiber, ManyInterleavedFibersKeepTheirOwnLocals) {
    constexpr int kFibers = 200;
    constexpr int kRounds = 50;
    struct Counter {
        int id = 0;
        long sum = 0;
        double root = 0;
        static void body(void *self) {
            auto &c = *static_cast<Counter *>(self);
            long local = 0;
            double x = c.id;
            for (int round = 0; round < kRounds; ++round) {
                local += c.id;
                x = std::sqrt(x * x + 1.0);
                Fiber::current()->suspend();
            }
            c.sum = local;
            c.root = x;
        }
    };
    std::vector<Counter> counters(kFibers);
    std::vector<std::unique_ptr<Fiber>> fibers;
    for (int i = 0; i < kFibers; ++i) {
        counters[i].id = i;
        fibers.push_back(std::make_unique<Fiber>(FiberStack(64 * 1024), &Counter::body, &counters[i]));
    }
    for (int round = 0; round <= kRounds; ++round)
        for (auto &fiber : fibers)
            fiber->resume();
    for (int i = 0; i < kFibers; ++i) {
        EXPECT_TRUE(fibers[i]->finished());
        EXPECT_EQ(counters[i].sum, static_cast<long>(i) * kRounds);
        EXPECT_NEAR(counters[i].root, std::sqrt(static_cast<double>(i) * i + kRounds), 1e-9);
    }
}

TEST(Fiber, ExceptionsUnwindWithinTheFiber) {
    struct Thrower {
        std::string caught;
        static void body(void *self) {
            auto &t = *static_cast<Thrower *>(self);
            try {
                Fiber::current()->suspend();
                throw std::runtime_error("thrown after a switch");
            } catch (const std::exception &e) {
                t.caught = e.what();
            }
        }
    } thrower;
    Fiber fiber(FiberStack(kStack), &Thrower::body, &thrower);
    fiber.resume();
    fiber.resume();
    EXPECT_TRUE(fiber.finished());
    EXPECT_EQ(thrower.caught, "thrown after a switch");
}

// The runtime's "exception being handled" is per thread; fibers sharing a
// thread must not see each other's. Each fiber suspends inside its catch
// block while the other throws and catches its own, then rethrows: it must
// get its own exception back, and a fiber between them sees none pending.
TEST(Fiber, EachFiberHasItsOwnExceptionInFlight) {
    struct Catcher {
        std::string name;
        std::string rethrown;
        static void body(void *self) {
            auto &c = *static_cast<Catcher *>(self);
            try {
                throw std::runtime_error(c.name);
            } catch (...) {
                Fiber::current()->suspend(); // while the other fiber handles its own
                try {
                    throw;
                } catch (const std::exception &e) {
                    c.rethrown = e.what();
                }
            }
        }
    };
    struct Bystander {
        int uncaught = -1;
        bool has_current = true;
        static void body(void *self) {
            auto &b = *static_cast<Bystander *>(self);
            b.uncaught = std::uncaught_exceptions();
            b.has_current = static_cast<bool>(std::current_exception());
        }
    };
    Catcher a{"from a", ""}, b{"from b", ""};
    Bystander bystander;
    Fiber fa(FiberStack(kStack), &Catcher::body, &a);
    Fiber fb(FiberStack(kStack), &Catcher::body, &b);
    Fiber fc(FiberStack(kStack), &Bystander::body, &bystander);
    fa.resume();
    fb.resume();
    fc.resume();
    fa.resume();
    fb.resume();
    EXPECT_EQ(a.rethrown, "from a");
    EXPECT_EQ(b.rethrown, "from b");
    EXPECT_EQ(bystander.uncaught, 0);
    EXPECT_FALSE(bystander.has_current) << "a fiber saw another fiber's exception as its own";
    EXPECT_FALSE(static_cast<bool>(std::current_exception())) << "the loop's thread saw a fiber's exception";
}

// A finished fiber's stack serves the next one (the loop's stack pool).
TEST(Fiber, AFinishedFibersStackRunsAnother) {
    Steps first, second;
    Fiber a(FiberStack(kStack), &Steps::body, &first);
    a.resume();
    ASSERT_TRUE(a.finished());
    FiberStack reused = a.take_stack();
    const void *bottom = reused.bottom();
    Fiber b(std::move(reused), &Steps::body, &second);
    b.resume();
    EXPECT_TRUE(b.finished());
    EXPECT_EQ(second.log, (std::vector<std::string>{"done"}));
    EXPECT_EQ(b.take_stack().bottom(), bottom);
}

int recurse(int depth) {
    volatile char frame[1024];
    frame[0] = static_cast<char>(depth);
    return depth == 0 ? frame[0] : recurse(depth - 1) + frame[0];
}

TEST(Fiber, UsesMostOfItsStack) {
    struct Deep {
        int result = -1;
        static void body(void *self) { static_cast<Deep *>(self)->result = recurse(100); } // ~100 KiB
    } deep;
    Fiber fiber(FiberStack(kStack), &Deep::body, &deep);
    fiber.resume();
    EXPECT_TRUE(fiber.finished());
    EXPECT_EQ(deep.result, 100 * 101 / 2);
}

TEST(FiberDeathTest, OverflowHitsTheGuardPage) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    struct Overflow {
        static void body(void *) { recurse(1 << 20); } // ~1 GiB of frames on a 64 KiB stack
    };
    EXPECT_DEATH(
        {
            Fiber fiber(FiberStack(64 * 1024), &Overflow::body, nullptr);
            fiber.resume();
        },
        "");
}

} // namespace
