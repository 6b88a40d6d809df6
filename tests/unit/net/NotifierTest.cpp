// NotifierTest.cpp — a notifier waking a thread blocked in PollWait::wait_or
// (mode threads) on a real socketpair: a signal from another thread ends the
// wait, one given before the wait is kept for it, many coalesce into one,
// the peer's bytes end it too, and destroy() releases a waiter.
#include "net/Notifier.h"
#include "net/IoWait.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

using portico::host::IoWait;
using portico::host::Notifier;
using portico::host::PollWait;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

struct SocketPair {
    int fds[2] = {-1, -1};
    SocketPair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0); }
    ~SocketPair() {
        ::close(fds[0]);
        ::close(fds[1]);
    }
};

// The plugin's handle: destroyed (not deleted) at the end of the scope.
struct Handle {
    Notifier *n = Notifier::create();
    ~Handle() { n->destroy(); }
};

struct Outcome {
    IoWait::Result result;
    bool notified;
};

Outcome wait_on(PollWait &wait, Notifier *n, Clock::duration within) {
    bool notified = false;
    const auto result = wait.wait_or(n, false, Clock::now() + within, notified);
    return {result, notified};
}

TEST(Notifier, ASignalFromAnotherThreadEndsAWait) {
    SocketPair pair;
    PollWait wait(pair.fds[0]);
    Handle handle;
    std::promise<void> about_to_wait;
    auto waiter = std::async(std::launch::async, [&] {
        about_to_wait.set_value();
        return wait_on(wait, handle.n, 30s);
    });
    about_to_wait.get_future().wait();
    handle.n->signal(); // whether it lands before or during the wait, it must not be lost
    ASSERT_EQ(waiter.wait_for(10s), std::future_status::ready) << "the signal did not wake the waiting thread";
    const Outcome got = waiter.get();
    EXPECT_TRUE(got.notified);
    EXPECT_EQ(got.result, IoWait::Result::timeout) << "the socket had no bytes";
}

TEST(Notifier, ASignalGivenBeforeTheWaitIsKeptForIt) {
    SocketPair pair;
    PollWait wait(pair.fds[0]);
    Handle handle;
    handle.n->signal();
    auto waiter = std::async(std::launch::async, [&] { return wait_on(wait, handle.n, 30s); });
    ASSERT_EQ(waiter.wait_for(10s), std::future_status::ready) << "a signal given before the wait was lost";
    EXPECT_TRUE(waiter.get().notified);
}

TEST(Notifier, ManySignalsCoalesceIntoOneWakeUp) {
    SocketPair pair;
    PollWait wait(pair.fds[0]);
    Handle handle;
    std::thread signaller([&] {
        for (int i = 0; i < 1000; ++i)
            handle.n->signal();
    });
    signaller.join();
    EXPECT_TRUE(wait_on(wait, handle.n, 10s).notified);
    // Reported once: the next wait has nothing to report and runs to its deadline.
    const Outcome second = wait_on(wait, handle.n, 100ms);
    EXPECT_FALSE(second.notified);
    EXPECT_EQ(second.result, IoWait::Result::timeout);
}

TEST(Notifier, ThePeersBytesEndAWaitTooAndLeaveTheSignalAlone) {
    SocketPair pair;
    PollWait wait(pair.fds[0]);
    Handle handle;
    ASSERT_EQ(::send(pair.fds[1], "x", 1, 0), 1);
    const Outcome got = wait_on(wait, handle.n, 10s);
    EXPECT_EQ(got.result, IoWait::Result::ready);
    EXPECT_FALSE(got.notified);
    char c = 0;
    ASSERT_EQ(::recv(pair.fds[0], &c, 1, 0), 1);
    handle.n->signal();
    EXPECT_TRUE(wait_on(wait, handle.n, 10s).notified);
}

TEST(Notifier, DestroyWhileAnotherThreadWaitsEndsTheWaitAsNotified) {
    SocketPair pair;
    PollWait wait(pair.fds[0]);
    Notifier *n = Notifier::create();
    auto waiter = std::async(std::launch::async, [&] { return wait_on(wait, n, 30s); });
    // destroy() may not race the start of a wait (documented): once the
    // wait is parked, it holds its own reference to the memory.
    const auto give_up = Clock::now() + 10s;
    while (n->parked() == 0 && Clock::now() < give_up)
        std::this_thread::sleep_for(1ms);
    ASSERT_EQ(n->parked(), 1u) << "the wait never parked";
    n->destroy();
    ASSERT_EQ(waiter.wait_for(10s), std::future_status::ready) << "destroy left the waiter asleep";
    EXPECT_TRUE(waiter.get().notified);
}

TEST(Notifier, WaitsManyTimesOnOneEventfd) {
    SocketPair pair;
    PollWait wait(pair.fds[0]);
    Handle handle;
    for (int round = 0; round < 50; ++round) {
        auto waiter = std::async(std::launch::async, [&] { return wait_on(wait, handle.n, 30s); });
        handle.n->signal();
        ASSERT_EQ(waiter.wait_for(10s), std::future_status::ready) << "round " << round;
        ASSERT_TRUE(waiter.get().notified) << "round " << round;
    }
}

} // namespace
