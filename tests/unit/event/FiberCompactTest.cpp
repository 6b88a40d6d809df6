// FiberCompactTest.cpp — a parked fiber's stack moved to the heap and back
// (Fiber::compact, issue 20): its pages really go back to the kernel, its
// frames come back byte for byte at the same addresses, and only a fiber
// whose code declared its stack private is ever compacted, by hand or by
// its loop's once-a-second sweep.
#include "LoopStarter.h"
#include "event/EventLoop.h"
#include "event/Fiber.h"
#include "event/FiberIo.h"
#include "event/StackPool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>

using portico::host::EventLoop;
using portico::host::Fiber;
using portico::host::FiberIo;
using portico::host::FiberStack;
using portico::host::IoWait;
using portico::host::StackPool;
using portico::test::SocketPair;
using portico::test::Starter;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kStack = 256 * 1024;

#define SKIP_WITHOUT_COMPACTION()                                                                                      \
    if (!Fiber::can_compact())                                                                                         \
    GTEST_SKIP() << "this build does not compact stacks (AddressSanitizer, or the ucontext switch: Fiber.cpp)"

// A body that keeps a pattern in a stack local across a suspension, and
// publishes where that local is so the test can look at the parked stack.
struct Keeper {
    bool private_stack = true;
    volatile unsigned char *local = nullptr; // the first byte of the body's local array
    bool intact = false;
    bool same_address = false;
    static void body(void *self) {
        auto &k = *static_cast<Keeper *>(self);
        Fiber::current()->set_stack_private(k.private_stack);
        volatile unsigned char data[1000];
        for (std::size_t i = 0; i < sizeof data; ++i)
            data[i] = static_cast<unsigned char>(i * 7 + 1);
        k.local = data;
        Fiber::current()->suspend();
        bool ok = true;
        for (std::size_t i = 0; i < sizeof data; ++i)
            ok = ok && data[i] == static_cast<unsigned char>(i * 7 + 1);
        k.intact = ok;
        k.same_address = k.local == data;
    }
};

TEST(FiberCompact, APrivateParkedStackGoesToTheHeapAndComesBackIntact) {
    SKIP_WITHOUT_COMPACTION();
    StackPool pool(kStack);
    Keeper keeper;
    Fiber fiber(pool.take(), &Keeper::body, &keeper);
    fiber.resume();
    ASSERT_NE(keeper.local, nullptr);
    ASSERT_EQ(keeper.local[1], 8);
    ASSERT_TRUE(fiber.compact());
    EXPECT_TRUE(fiber.compacted());
    EXPECT_FALSE(fiber.compact()) << "compacted twice";
    // The stack's pages went back to the kernel: they read as zeros now.
    EXPECT_EQ(keeper.local[1], 0) << "the parked stack's pages were not given back";
    fiber.resume();
    EXPECT_TRUE(fiber.finished());
    EXPECT_FALSE(fiber.compacted());
    EXPECT_EQ(fiber.compactions(), 1u);
    EXPECT_TRUE(keeper.intact) << "the fiber's locals changed across the compaction";
    EXPECT_TRUE(keeper.same_address);
}

TEST(FiberCompact, AStackNotDeclaredPrivateIsNeverCompacted) {
    StackPool pool(kStack);
    Keeper keeper;
    keeper.private_stack = false;
    Fiber fiber(pool.take(), &Keeper::body, &keeper);
    fiber.resume();
    EXPECT_FALSE(fiber.compact());
    EXPECT_FALSE(fiber.compacted());
    EXPECT_EQ(keeper.local[1], 8) << "a stack others may read was changed while parked";
    fiber.resume();
    EXPECT_TRUE(keeper.intact);
    EXPECT_EQ(fiber.compactions(), 0u);
}

TEST(FiberCompact, PrivacyEndsWithTheCodeThatDeclaredIt) {
    struct Body {
        static void run(void *) {
            Fiber::current()->set_stack_private(true);
            Fiber::current()->set_stack_private(false); // the handler returned; the host goes on
            Fiber::current()->suspend();
        }
    };
    Fiber fiber(FiberStack(kStack), &Body::run, nullptr);
    fiber.resume();
    EXPECT_FALSE(fiber.compact());
    fiber.resume();
    EXPECT_TRUE(fiber.finished());
}

// A fiber parked deep (large frames) keeps its pages: copying them at every
// wake-up would cost more than they do.
TEST(FiberCompact, AFiberParkedDeeperThanTheLimitKeepsItsPages) {
    struct Deep {
        static void run(void *) {
            Fiber::current()->set_stack_private(true);
            volatile char big[Fiber::kMaxCompactBytes + 4096];
            big[0] = 1;
            big[sizeof big - 1] = 2;
            Fiber::current()->suspend();
            EXPECT_EQ(big[0] + big[sizeof big - 1], 3);
        }
    };
    Fiber fiber(FiberStack(kStack), &Deep::run, nullptr);
    fiber.resume();
    EXPECT_FALSE(fiber.compact());
    fiber.resume();
    EXPECT_TRUE(fiber.finished());
}

// Many fibers, compacted at every suspension and resumed interleaved, keep
// integer and floating-point locals, and an exception in flight across
// the compaction is rethrown intact.
TEST(FiberCompact, ManyFibersCompactedAtEverySwitchKeepTheirLocalsAndExceptions) {
    SKIP_WITHOUT_COMPACTION();
    constexpr int kFibers = 300;
    constexpr int kRounds = 10;
    struct Counter {
        int id = 0;
        long sum = 0;
        double root = 0;
        std::string rethrown;
        static void body(void *self) {
            auto &c = *static_cast<Counter *>(self);
            Fiber::current()->set_stack_private(true);
            long local = 0;
            double x = c.id;
            char name[64];
            std::snprintf(name, sizeof name, "fiber %d", c.id);
            for (int round = 0; round < kRounds; ++round) {
                local += c.id;
                x = std::sqrt(x * x + 1.0);
                Fiber::current()->suspend();
            }
            try {
                throw std::runtime_error(name);
            } catch (...) {
                Fiber::current()->suspend(); // compacted while the exception is being handled
                try {
                    throw;
                } catch (const std::exception &e) {
                    c.rethrown = e.what();
                }
            }
            c.sum = local;
            c.root = x;
        }
    };
    StackPool pool(64 * 1024);
    std::vector<Counter> counters(kFibers);
    std::vector<std::unique_ptr<Fiber>> fibers;
    for (int i = 0; i < kFibers; ++i) {
        counters[i].id = i;
        fibers.push_back(std::make_unique<Fiber>(pool.take(), &Counter::body, &counters[i]));
    }
    for (int round = 0; round <= kRounds + 1; ++round) {
        for (auto &fiber : fibers)
            fiber->resume();
        for (auto &fiber : fibers) {
            if (!fiber->finished()) {
                EXPECT_TRUE(fiber->compact());
            }
        }
    }
    for (int i = 0; i < kFibers; ++i) {
        ASSERT_TRUE(fibers[i]->finished());
        EXPECT_EQ(fibers[i]->compactions(), static_cast<unsigned long long>(kRounds + 1));
        EXPECT_EQ(counters[i].sum, static_cast<long>(i) * kRounds);
        EXPECT_NEAR(counters[i].root, std::sqrt(static_cast<double>(i) * i + kRounds), 1e-9);
        EXPECT_EQ(counters[i].rethrown, "fiber " + std::to_string(i));
    }
}

// The loop's sweep: of two fibers parked on their sockets, the one whose code
// declared its stack private is compacted, the other (parked at least as
// long) never is; both resume when their socket has bytes and read them.
TEST(FiberCompact, TheLoopCompactsOnlyPrivateParkedFibers) {
    SKIP_WITHOUT_COMPACTION();
    EventLoop loop("test:ev0", kStack);
    loop.start();
    auto starter = std::make_unique<Starter>(loop);
    SocketPair shared_pair, private_pair;
    struct Outcome {
        char byte = 0;
        unsigned long long compactions = 0;
        bool intact = false;
    };
    std::promise<Outcome> shared_done, private_done;
    std::atomic<int> parked{0};
    const auto park = [&](int fd, bool private_stack, std::promise<Outcome> &done) {
        Fiber::current()->set_stack_private(private_stack);
        char pattern[512];
        for (std::size_t i = 0; i < sizeof pattern; ++i)
            pattern[i] = static_cast<char>(i ^ 0x5a);
        Outcome outcome;
        {
            const auto io = std::make_unique<FiberIo>(loop, fd); // on the heap, as EventSession has it
            ++parked;
            for (;;) {
                if (::recv(fd, &outcome.byte, 1, 0) == 1) break;
                io->drained(false);
                if (io->wait(false, std::chrono::steady_clock::now() + 30s) != IoWait::Result::ready) break;
            }
        }
        outcome.compactions = Fiber::current()->compactions();
        outcome.intact = true;
        for (std::size_t i = 0; i < sizeof pattern; ++i)
            outcome.intact = outcome.intact && pattern[i] == static_cast<char>(i ^ 0x5a);
        done.set_value(outcome);
    };
    // The shared one parks first: when the private one is compacted, the
    // shared one has been parked through the same sweeps or more.
    starter->start([&] { park(shared_pair.fiber_end(), false, shared_done); });
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (parked.load() < 1 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(1ms);
    starter->start([&] { park(private_pair.fiber_end(), true, private_done); });
    while (loop.stacks_compacted() < 1 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    EXPECT_GE(loop.stacks_compacted(), 1u) << "the sweep never compacted the private fiber";
    ASSERT_EQ(::send(shared_pair.test_end(), "s", 1, 0), 1);
    ASSERT_EQ(::send(private_pair.test_end(), "p", 1, 0), 1);
    auto shared_future = shared_done.get_future();
    auto private_future = private_done.get_future();
    ASSERT_EQ(shared_future.wait_for(10s), std::future_status::ready);
    ASSERT_EQ(private_future.wait_for(10s), std::future_status::ready);
    const Outcome shared = shared_future.get();
    const Outcome priv = private_future.get();
    EXPECT_EQ(shared.byte, 's');
    EXPECT_EQ(priv.byte, 'p');
    EXPECT_TRUE(shared.intact);
    EXPECT_TRUE(priv.intact);
    EXPECT_EQ(shared.compactions, 0u) << "a fiber whose stack is not private was compacted";
    EXPECT_GE(priv.compactions, 1u);
    loop.stop();
    loop.join();
    starter.reset();
}

} // namespace
