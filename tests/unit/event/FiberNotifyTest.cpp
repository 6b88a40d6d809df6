// FiberNotifyTest.cpp — a notifier waking a fiber parked in FiberIo::wait_or
// on a real loop thread (mode events): from a plain std::thread (through the
// loop's wake-up), from another fiber of the same loop, before the wait, many
// times at once, and for many fibers of one loop.
#include "LoopStarter.h"
#include "event/EventLoop.h"
#include "event/FiberIo.h"
#include "net/Notifier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

using portico::host::EventLoop;
using portico::host::EventSource;
using portico::host::FiberIo;
using portico::host::FiberTask;
using portico::host::IoWait;
using portico::host::Notifier;
using portico::test::SocketPair;
using portico::test::Starter;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

struct Handle {
    Notifier *n = Notifier::create();
    ~Handle() { n->destroy(); }
};

// Until a wait is parked on n, so the signal that follows finds a sleeper.
bool parked_within(const Notifier &n, Clock::duration within) {
    const auto give_up = Clock::now() + within;
    while (n.parked() == 0 && Clock::now() < give_up)
        std::this_thread::sleep_for(1ms);
    return n.parked() > 0;
}

struct Outcome {
    IoWait::Result result;
    bool notified;
};

// On a fiber: registers fd, says it is about to wait, and waits once.
Outcome park(EventLoop &loop, int fd, Notifier &n, Clock::duration within, std::promise<void> *waiting) {
    FiberIo io(loop, fd);
    io.drained(false); // a new registration assumes bytes may be there
    if (waiting) waiting->set_value();
    bool notified = false;
    const auto result = io.wait_or(&n, false, Clock::now() + within, notified);
    return {result, notified};
}

struct NotifyLoop : ::testing::Test {
    EventLoop loop{"test:notify", 128 * 1024};
    std::unique_ptr<Starter> starter;
    void SetUp() override {
        loop.start();
        starter = std::make_unique<Starter>(loop);
    }
    void TearDown() override {
        loop.stop();
        loop.join();
        starter.reset();
    }
};

TEST_F(NotifyLoop, ASignalFromAPlainThreadWakesAParkedFiber) {
    SocketPair pair;
    Handle handle;
    std::promise<void> waiting;
    std::promise<Outcome> done;
    starter->start([&] { done.set_value(park(loop, pair.fds[0], *handle.n, 30s, &waiting)); });
    ASSERT_EQ(waiting.get_future().wait_for(5s), std::future_status::ready);
    ASSERT_TRUE(parked_within(*handle.n, 10s));
    std::thread([&] { handle.n->signal(); }).join();
    auto future = done.get_future();
    ASSERT_EQ(future.wait_for(10s), std::future_status::ready) << "the fiber slept through the signal";
    const Outcome got = future.get();
    EXPECT_TRUE(got.notified);
    EXPECT_EQ(got.result, IoWait::Result::timeout) << "the socket had no bytes";
}

TEST_F(NotifyLoop, AFiberOfTheSameLoopWakesItsNeighbour) {
    SocketPair pair;
    Handle handle;
    std::promise<void> waiting;
    std::promise<Outcome> done;
    std::promise<void> signalled;
    starter->start([&] { done.set_value(park(loop, pair.fds[0], *handle.n, 30s, &waiting)); });
    ASSERT_EQ(waiting.get_future().wait_for(5s), std::future_status::ready);
    ASSERT_TRUE(parked_within(*handle.n, 10s));
    starter->start([&] {
        handle.n->signal();
        signalled.set_value();
    });
    ASSERT_EQ(signalled.get_future().wait_for(10s), std::future_status::ready);
    auto future = done.get_future();
    ASSERT_EQ(future.wait_for(10s), std::future_status::ready) << "the neighbour's signal was lost";
    EXPECT_TRUE(future.get().notified);
}

TEST_F(NotifyLoop, ASignalBeforeTheWaitIsKeptAndManyCoalesce) {
    SocketPair pair;
    Handle handle;
    for (int i = 0; i < 1000; ++i)
        handle.n->signal();
    std::promise<std::pair<Outcome, Outcome>> done;
    starter->start([&] {
        std::pair<Outcome, Outcome> outcomes;
        {
            // Gone (out of the loop's epoll set) before the test may close the pair.
            FiberIo io(loop, pair.fds[0]);
            io.drained(false);
            bool first = false;
            const auto r1 = io.wait_or(handle.n, false, Clock::now() + 30s, first);
            bool second = false;
            const auto r2 = io.wait_or(handle.n, false, Clock::now() + 100ms, second);
            outcomes = {{r1, first}, {r2, second}};
        }
        done.set_value(outcomes);
    });
    auto future = done.get_future();
    ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
    const auto [first, second] = future.get();
    EXPECT_TRUE(first.notified) << "the signals given before the wait were lost";
    EXPECT_FALSE(second.notified) << "1000 signals must be one wake-up";
    EXPECT_EQ(second.result, IoWait::Result::timeout);
}

TEST_F(NotifyLoop, ThePeersBytesEndTheWaitAsReady) {
    SocketPair pair;
    Handle handle;
    std::promise<void> waiting;
    std::promise<Outcome> done;
    starter->start([&] { done.set_value(park(loop, pair.fds[0], *handle.n, 30s, &waiting)); });
    ASSERT_EQ(waiting.get_future().wait_for(5s), std::future_status::ready);
    ASSERT_EQ(::send(pair.fds[1], "x", 1, 0), 1);
    auto future = done.get_future();
    ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
    const Outcome got = future.get();
    EXPECT_EQ(got.result, IoWait::Result::ready);
    EXPECT_FALSE(got.notified);
}

TEST_F(NotifyLoop, OneThreadWakesEveryFiberOfALoop) {
    constexpr int kFibers = 300;
    std::vector<std::unique_ptr<SocketPair>> pairs;
    std::vector<std::unique_ptr<Handle>> handles;
    std::vector<std::promise<void>> waiting(kFibers);
    std::atomic<int> woken{0};
    std::promise<void> all_woken;
    for (int i = 0; i < kFibers; ++i) {
        pairs.push_back(std::make_unique<SocketPair>());
        handles.push_back(std::make_unique<Handle>());
    }
    for (int i = 0; i < kFibers; ++i)
        starter->start([&, i] {
            if (park(loop, pairs[i]->fds[0], *handles[i]->n, 30s, &waiting[i]).notified &&
                woken.fetch_add(1) + 1 == kFibers)
                all_woken.set_value();
        });
    for (auto &w : waiting)
        ASSERT_EQ(w.get_future().wait_for(10s), std::future_status::ready);
    std::thread([&] {
        for (auto &h : handles)
            h->n->signal();
    }).join();
    ASSERT_EQ(all_woken.get_future().wait_for(20s), std::future_status::ready)
        << woken.load() << " of " << kFibers << " fibers woke";
}

} // namespace
