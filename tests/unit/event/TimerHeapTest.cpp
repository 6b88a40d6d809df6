// TimerHeapTest.cpp — deadlines come out in order however they were
// scheduled, moved and cancelled (checked against a sorted reference).
#include "event/TimerHeap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

using portico::host::TimerHeap;
using portico::host::TimerNode;
using namespace std::chrono_literals;

namespace {

using Clock = TimerNode::Clock;

struct Node final : TimerNode {
    int id = 0;
    int fired = 0;
    void on_timer(Clock::time_point) override { ++fired; }
};

const Clock::time_point t0 = Clock::time_point{} + 1000h;

TEST(TimerHeap, PopsOnlyWhatIsDueInDeadlineOrder) {
    TimerHeap heap;
    Node a, b, c;
    heap.schedule(a, t0 + 30ms);
    heap.schedule(b, t0 + 10ms);
    heap.schedule(c, t0 + 20ms);
    EXPECT_EQ(heap.next(), t0 + 10ms);
    EXPECT_EQ(heap.pop_due(t0 + 5ms), nullptr);
    EXPECT_EQ(heap.pop_due(t0 + 25ms), &b);
    EXPECT_EQ(heap.pop_due(t0 + 25ms), &c);
    EXPECT_EQ(heap.pop_due(t0 + 25ms), nullptr);
    EXPECT_FALSE(b.scheduled());
    EXPECT_TRUE(a.scheduled());
    EXPECT_EQ(heap.size(), 1u);
}

TEST(TimerHeap, MovesAndCancels) {
    TimerHeap heap;
    Node a, b, c;
    heap.schedule(a, t0 + 10ms);
    heap.schedule(b, t0 + 20ms);
    heap.schedule(c, t0 + 30ms);
    heap.schedule(a, t0 + 40ms); // later
    heap.schedule(c, t0 + 5ms);  // earlier
    heap.cancel(b);
    heap.cancel(b); // twice is harmless
    EXPECT_EQ(heap.pop_due(t0 + 1h), &c);
    EXPECT_EQ(heap.pop_due(t0 + 1h), &a);
    EXPECT_EQ(heap.pop_due(t0 + 1h), nullptr);
    EXPECT_FALSE(heap.next().has_value());
}

TEST(TimerHeap, RandomOperationsMatchASortedReference) {
    std::mt19937 rng(42);
    std::vector<Node> nodes(300);
    std::map<int, Clock::time_point> expected; // id → deadline of the scheduled ones
    TimerHeap heap;
    for (int i = 0; i < static_cast<int>(nodes.size()); ++i)
        nodes[i].id = i;
    for (int step = 0; step < 20000; ++step) {
        Node &n = nodes[rng() % nodes.size()];
        if (rng() % 4 == 0) {
            heap.cancel(n);
            expected.erase(n.id);
        } else {
            const auto at = t0 + std::chrono::milliseconds(rng() % 100000);
            heap.schedule(n, at);
            expected[n.id] = at;
        }
        ASSERT_EQ(heap.size(), expected.size());
    }
    std::vector<Clock::time_point> popped;
    while (TimerNode *due = heap.pop_due(t0 + 1000s)) {
        popped.push_back(due->at());
        EXPECT_EQ(expected.at(static_cast<Node *>(due)->id), due->at());
    }
    EXPECT_EQ(popped.size(), expected.size());
    EXPECT_TRUE(std::is_sorted(popped.begin(), popped.end()));
}

} // namespace
