// SharedCountersTest.cpp — a counters segment written by another process is
// read here, and what that process counted stays after it was killed.
#include "service/SharedCounters.h"
#include "service/CounterSnapshot.h"

#include <gtest/gtest.h>

#include <csignal>
#include <stdexcept>

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

namespace portico::host {
namespace {

TEST(SharedCounters, WhatAKilledProcessCountedStaysReadable) {
    SharedCounters segment = SharedCounters::create();
    EXPECT_EQ(segment.counters().accepted.load(), 0u);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // The worker's side: its own mapping of the inherited descriptor.
        SharedCounters mine = SharedCounters::attach(::dup(segment.fd()));
        ServiceCounters &c = mine.counters();
        c.accepted += 3;
        c.active += 2;
        c.bytes_in += 1000;
        c.count_refusal(RefusalReason::per_source_max);
        c.session_duration.record(std::chrono::milliseconds(2));
        ::kill(::getpid(), SIGKILL); // no unmap, no exit handlers: as a crash
        ::_exit(1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status));
    const CounterSnapshot seen = CounterSnapshot::of(segment.counters());
    EXPECT_EQ(seen.accepted, 3u);
    EXPECT_EQ(seen.active, 2);
    EXPECT_EQ(seen.bytes_in, 1000u);
    EXPECT_EQ(seen.refused, 1u);
    EXPECT_EQ(seen.refused_by[static_cast<std::size_t>(RefusalReason::per_source_max)], 1u);
    EXPECT_EQ(seen.durations.count, 1u);
}

TEST(SharedCounters, AttachRefusesADescriptorThatIsNoSegment) {
    const int other = ::memfd_create("not-counters", MFD_CLOEXEC);
    ASSERT_GE(other, 0);
    ASSERT_EQ(::ftruncate(other, 64), 0);
    EXPECT_THROW(SharedCounters::attach(other), std::runtime_error); // and closes it
}

TEST(CounterSnapshot, AddsEveryFigure) {
    ServiceCounters a;
    a.accepted = 2;
    a.bytes_out = 7;
    a.count_drop(DropReason::oversized, 4);
    a.session_duration.record(std::chrono::seconds(2));
    CounterSnapshot total = CounterSnapshot::of(a);
    total += CounterSnapshot::of(a);
    EXPECT_EQ(total.accepted, 4u);
    EXPECT_EQ(total.bytes_out, 14u);
    EXPECT_EQ(total.dropped, 8u);
    EXPECT_EQ(total.dropped_by[static_cast<std::size_t>(DropReason::oversized)], 8u);
    EXPECT_EQ(total.durations.count, 2u);
    EXPECT_DOUBLE_EQ(total.durations.sum_seconds, 4.0);
}

} // namespace
} // namespace portico::host
