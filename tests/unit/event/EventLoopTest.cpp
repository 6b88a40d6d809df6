// EventLoopTest.cpp — fibers on a real loop thread waiting on real sockets
// (socketpairs): a wait suspends only its own fiber, ends on readiness, on
// shutdown(2) from another thread, or at its deadline; stop() lets running
// fibers finish first.
#include "event/EventLoop.h"
#include "LoopStarter.h"
#include "event/FiberIo.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <thread>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

using portico::host::EventLoop;
using portico::host::EventSource;
using portico::host::FiberIo;
using portico::host::FiberTask;
using portico::host::IoWait;
using portico::test::SocketPair;
using portico::test::Starter;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

struct LoopFixture : ::testing::Test {
    EventLoop loop{"test:ev0", 128 * 1024};
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

// Runs fn(io) with the fd registered, and returns its result once the
// registration is gone again: a test that closes its sockets as soon as it
// has the result must not race the fiber's epoll_ctl(DEL).
template <class Fn> auto with_io(EventLoop &loop, int fd, Fn fn) {
    FiberIo io(loop, fd);
    return fn(io);
}

// Reads one byte on the fiber, waiting as a Connection does.
char read_byte(IoWait &io, int fd) {
    for (;;) {
        char c = 0;
        if (::recv(fd, &c, 1, 0) == 1) return c;
        io.drained(false);
        if (io.wait(false, Clock::now() + 10s) == IoWait::Result::timeout) return '?';
    }
}

TEST_F(LoopFixture, AWaitSuspendsOnlyItsOwnFiber) {
    SocketPair first, second;
    std::promise<char> first_got, second_got;
    starter->start([&] {
        first_got.set_value(
            with_io(loop, first.fiber_end(), [&](IoWait &io) { return read_byte(io, first.fiber_end()); }));
    });
    starter->start([&] {
        second_got.set_value(
            with_io(loop, second.fiber_end(), [&](IoWait &io) { return read_byte(io, second.fiber_end()); }));
    });
    auto first_future = first_got.get_future();
    auto second_future = second_got.get_future();
    ASSERT_EQ(::send(second.test_end(), "b", 1, 0), 1);
    ASSERT_EQ(second_future.wait_for(5s), std::future_status::ready) << "the second fiber was not served";
    EXPECT_EQ(second_future.get(), 'b');
    EXPECT_EQ(first_future.wait_for(50ms), std::future_status::timeout) << "the first fiber ran without bytes";
    ASSERT_EQ(::send(first.test_end(), "a", 1, 0), 1);
    ASSERT_EQ(first_future.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(first_future.get(), 'a');
}

TEST_F(LoopFixture, AWaitEndsAtItsDeadline) {
    SocketPair pair;
    std::promise<std::pair<IoWait::Result, Clock::duration>> done;
    starter->start([&] {
        done.set_value(with_io(loop, pair.fiber_end(), [](IoWait &io) {
            io.drained(false);
            const auto start = Clock::now();
            const auto result = io.wait(false, start + 150ms);
            return std::pair{result, Clock::now() - start};
        }));
    });
    auto future = done.get_future();
    ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
    const auto [result, waited] = future.get();
    EXPECT_EQ(result, IoWait::Result::timeout);
    EXPECT_GE(waited, 150ms);
    EXPECT_LT(waited, 2s);
}

TEST_F(LoopFixture, ShutdownFromAnotherThreadWakesAWait) {
    SocketPair pair;
    std::promise<void> waiting;
    std::promise<std::pair<IoWait::Result, ssize_t>> done;
    starter->start([&] {
        done.set_value(with_io(loop, pair.fiber_end(), [&](IoWait &io) {
            io.drained(false);
            waiting.set_value();
            const auto result = io.wait(false, Clock::now() + 30s);
            char c = 0;
            return std::pair{result, ::recv(pair.fiber_end(), &c, 1, 0)};
        }));
    });
    ASSERT_EQ(waiting.get_future().wait_for(5s), std::future_status::ready);
    ::shutdown(pair.fiber_end(), SHUT_RDWR); // what Connection::force_close does
    auto future = done.get_future();
    ASSERT_EQ(future.wait_for(5s), std::future_status::ready) << "shutdown did not wake the fiber";
    const auto [result, received] = future.get();
    EXPECT_EQ(result, IoWait::Result::ready);
    EXPECT_EQ(received, 0) << "end of stream after shutdown";
}

// Bytes and the FIN arrive together, before the fiber reads: the short read
// empties the socket of bytes but not of the end of stream, and no new edge
// will come for it. The wait after it must not sleep until its deadline.
TEST_F(LoopFixture, EndOfStreamSeenBeforeAShortReadIsNotWaitedFor) {
    SocketPair pair;
    ASSERT_EQ(::send(pair.test_end(), "abc", 3, 0), 3);
    ::shutdown(pair.test_end(), SHUT_WR);
    std::promise<std::pair<IoWait::Result, ssize_t>> done;
    starter->start([&] {
        done.set_value(with_io(loop, pair.fiber_end(), [&](IoWait &io) {
            io.drained(false);
            io.wait(false, Clock::now() + 10s); // the event carrying bytes and FIN
            char buf[64];
            if (::recv(pair.fiber_end(), buf, sizeof buf, 0) != 3)
                return std::pair{IoWait::Result::failed, ssize_t{-1}};
            io.drained(false); // a short read, as Connection reports it
            const auto result = io.wait(false, Clock::now() + 2s);
            return std::pair{result, ::recv(pair.fiber_end(), buf, sizeof buf, 0)};
        }));
    });
    auto future = done.get_future();
    const bool prompt = future.wait_for(1s) == std::future_status::ready;
    ASSERT_EQ(future.wait_for(5s), std::future_status::ready); // its own 2 s deadline ends it anyway
    EXPECT_TRUE(prompt) << "the fiber slept past a pending end of stream";
    const auto [result, received] = future.get();
    EXPECT_EQ(result, IoWait::Result::ready);
    EXPECT_EQ(received, 0);
}

TEST_F(LoopFixture, AWriteWaitsForRoomInTheSendBuffer) {
    SocketPair pair;
    std::atomic<std::size_t> sent{0};
    std::promise<IoWait::Result> done;
    starter->start([&] {
        done.set_value(with_io(loop, pair.fiber_end(), [&](IoWait &io) {
            const std::string chunk(64 * 1024, 'x');
            while (::send(pair.fiber_end(), chunk.data(), chunk.size(), MSG_NOSIGNAL) > 0)
                sent += chunk.size();
            io.drained(true);
            return io.wait(true, Clock::now() + 30s);
        }));
    });
    auto future = done.get_future();
    EXPECT_EQ(future.wait_for(100ms), std::future_status::timeout) << "a full send buffer did not block the write";
    char buf[256 * 1024];
    while (::recv(pair.test_end(), buf, sizeof buf, 0) > 0) {
    }
    ASSERT_EQ(future.wait_for(5s), std::future_status::ready) << "room in the buffer did not wake the fiber";
    EXPECT_EQ(future.get(), IoWait::Result::ready);
}

// A connection whose socket never makes it wait (a stream flowing both
// ways) still lets the rest of its loop run: every kIoBudget I/O calls it
// yields for a round.
TEST_F(LoopFixture, AFiberThatNeverWaitsYieldsToTheOthers) {
    SocketPair pair;
    std::atomic<bool> other_ran{false};
    std::promise<int> calls_until_seen;
    starter->start([&] {
        calls_until_seen.set_value(with_io(loop, pair.fiber_end(), [&](IoWait &io) {
            for (int calls = 1; calls <= 100 * FiberIo::kIoBudget; ++calls) {
                io.progressed(); // a recv or send that did not have to wait
                if (other_ran) return calls;
            }
            return -1;
        }));
    });
    starter->start([&] { other_ran = true; });
    auto future = calls_until_seen.get_future();
    ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
    const int calls = future.get();
    EXPECT_NE(calls, -1) << "the busy fiber kept the loop to itself";
    EXPECT_LE(calls, 2 * FiberIo::kIoBudget);
}

// Only a connection's own fiber can wait on it. Another fiber that tries
// gets a failure at once, and the owner's wait is not disturbed.
TEST_F(LoopFixture, AnotherFiberCannotWaitOnAConnection) {
    SocketPair pair;
    std::promise<IoWait *> registered;
    std::promise<char> owner_got;
    std::promise<std::pair<IoWait::Result, bool>> intruder_saw;
    starter->start([&] {
        owner_got.set_value(with_io(loop, pair.fiber_end(), [&](IoWait &io) {
            io.drained(false);
            registered.set_value(&io);
            return read_byte(io, pair.fiber_end());
        }));
    });
    IoWait *io = registered.get_future().get();
    starter->start([&] { intruder_saw.set_value({io->wait(false, Clock::now() + 10s), io->usable_here()}); });
    auto intruder = intruder_saw.get_future();
    ASSERT_EQ(intruder.wait_for(5s), std::future_status::ready) << "the intruding fiber blocked";
    const auto [result, usable] = intruder.get();
    EXPECT_EQ(result, IoWait::Result::failed);
    EXPECT_FALSE(usable);
    ASSERT_EQ(::send(pair.test_end(), "z", 1, 0), 1);
    auto owner = owner_got.get_future();
    ASSERT_EQ(owner.wait_for(5s), std::future_status::ready) << "the owner's wait was lost";
    EXPECT_EQ(owner.get(), 'z');
}

TEST(EventLoop, StopLetsRunningFibersFinish) {
    EventLoop loop("test:ev1", 128 * 1024);
    loop.start();
    Starter starter(loop);
    SocketPair pair;
    std::promise<void> waiting;
    std::atomic<bool> finished{false};
    starter.start([&] {
        FiberIo io(loop, pair.fiber_end());
        waiting.set_value();
        read_byte(io, pair.fiber_end());
        finished = true;
    });
    ASSERT_EQ(waiting.get_future().wait_for(5s), std::future_status::ready);
    loop.stop();
    auto joined = std::async(std::launch::async, [&] { loop.join(); });
    EXPECT_EQ(joined.wait_for(100ms), std::future_status::timeout) << "the loop ended under a running fiber";
    ASSERT_EQ(::send(pair.test_end(), "x", 1, 0), 1);
    ASSERT_EQ(joined.wait_for(5s), std::future_status::ready);
    EXPECT_TRUE(finished);
    EXPECT_EQ(loop.fibers(), 0u);
}

} // namespace
