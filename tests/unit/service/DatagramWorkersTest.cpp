// DatagramWorkersTest.cpp — the UDP worker pool: bounded queue, growth up to
// max, shrink back to min, drain and discard.
#include "service/DatagramWorkers.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <mutex>
#include <thread>

using portico::host::DatagramJob;
using portico::host::DatagramWorkers;
using namespace std::chrono_literals;

namespace {

DatagramJob job(std::string data) { return DatagramJob{std::move(data), {}, nullptr}; }

DatagramWorkers::Params params(int min, int max, std::size_t capacity, std::chrono::milliseconds idle = 60s) {
    DatagramWorkers::Params p;
    p.name = "test";
    p.min_threads = min;
    p.max_threads = max;
    p.capacity = capacity;
    p.idle = idle;
    return p;
}

TEST(DatagramWorkers, RunsEveryJobAndWaitsForThem) {
    std::atomic<int> ran{0};
    DatagramWorkers workers(params(2, 4, 1000), [&](DatagramJob &) { ++ran; });
    for (int i = 0; i < 500; ++i) {
        auto j = job("x");
        while (!workers.try_submit(j)) std::this_thread::yield();
    }
    EXPECT_TRUE(workers.wait_idle(std::chrono::steady_clock::now() + 5s));
    EXPECT_EQ(ran.load(), 500);
}

TEST(DatagramWorkers, FullQueueRefusesWithoutBlocking) {
    std::latch release(1);
    std::atomic<int> started{0};
    DatagramWorkers workers(params(1, 1, 2), [&](DatagramJob &) {
        ++started;
        release.wait();
    });
    auto first = job("1");
    ASSERT_TRUE(workers.try_submit(first));
    ASSERT_TRUE([&] {
        for (int i = 0; i < 500 && started == 0; ++i) std::this_thread::sleep_for(2ms);
        return started == 1;
    }());
    auto a = job("a"), b = job("b"), c = job("c");
    EXPECT_TRUE(workers.try_submit(a));
    EXPECT_TRUE(workers.try_submit(b));
    EXPECT_FALSE(workers.try_submit(c)) << "capacity 2 is full";
    EXPECT_EQ(c.data, "c") << "a refused job is left with the caller";
    EXPECT_FALSE(workers.wait_idle(std::chrono::steady_clock::now() + 20ms));
    release.count_down();
    EXPECT_TRUE(workers.wait_idle(std::chrono::steady_clock::now() + 5s));
    EXPECT_EQ(started.load(), 3);
}

TEST(DatagramWorkers, GrowsToMaxWhileBusyAndShrinksToMinWhenIdle) {
    std::latch release(1);
    std::atomic<int> started{0};
    DatagramWorkers workers(params(1, 3, 100, 50ms), [&](DatagramJob &) {
        ++started;
        release.wait();
    });
    EXPECT_EQ(workers.threads(), 1u);
    for (int i = 0; i < 5; ++i) {
        auto j = job("x");
        ASSERT_TRUE(workers.try_submit(j));
    }
    for (int i = 0; i < 500 && started < 3; ++i) std::this_thread::sleep_for(2ms);
    EXPECT_EQ(started.load(), 3) << "three threads at most run at once";
    EXPECT_EQ(workers.threads(), 3u);
    EXPECT_EQ(workers.running(), 3u);
    release.count_down();
    EXPECT_TRUE(workers.wait_idle(std::chrono::steady_clock::now() + 5s));
    for (int i = 0; i < 500 && workers.threads() > 1; ++i) std::this_thread::sleep_for(5ms);
    EXPECT_EQ(workers.threads(), 1u) << "surplus threads leave after `idle`";
    auto later = job("later");
    EXPECT_TRUE(workers.try_submit(later)) << "and the pool still grows again after reaping";
    EXPECT_TRUE(workers.wait_idle(std::chrono::steady_clock::now() + 5s));
}

TEST(DatagramWorkers, DiscardRemovesOnlyMatchingQueuedJobs) {
    std::latch release(1);
    std::atomic<int> started{0};
    std::vector<std::string> ran;
    std::mutex ran_mutex;
    DatagramWorkers workers(params(1, 1, 10), [&](DatagramJob &j) {
        if (++started == 1) release.wait();
        std::lock_guard lock(ran_mutex);
        ran.push_back(j.data);
    });
    for (const char *data : {"blocker", "keep", "drop", "drop", "keep"}) {
        auto j = job(data);
        ASSERT_TRUE(workers.try_submit(j));
    }
    for (int i = 0; i < 500 && started == 0; ++i) std::this_thread::sleep_for(2ms);
    EXPECT_EQ(workers.discard_queued([](const DatagramJob &j) { return j.data == "drop"; }), 2u);
    release.count_down();
    EXPECT_TRUE(workers.wait_idle(std::chrono::steady_clock::now() + 5s));
    EXPECT_EQ(ran, (std::vector<std::string>{"blocker", "keep", "keep"}));
}

TEST(DatagramWorkers, DestructionWithQueuedJobsDoesNotRunThem) {
    std::latch release(1);
    std::atomic<int> ran{0};
    std::thread releaser;
    {
        DatagramWorkers workers(params(1, 1, 10), [&](DatagramJob &) {
            release.wait();
            ++ran;
        });
        for (int i = 0; i < 5; ++i) {
            auto j = job("x");
            ASSERT_TRUE(workers.try_submit(j));
        }
        releaser = std::thread([&] {
            std::this_thread::sleep_for(50ms);
            release.count_down();
        });
    }
    releaser.join();
    EXPECT_LE(ran.load(), 1) << "only the job already running finishes";
}

} // namespace
