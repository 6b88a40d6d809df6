// StackPoolTest.cpp — pooled fiber stacks: many stacks add no mapping each
// (where the kernel has guard markers), an overflow still faults on the
// guard below its stack, and a parked fiber's dead stack pages go back to
// the kernel without disturbing the frames it is parked in.
#include "event/StackPool.h"
#include "event/Fiber.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

using portico::host::Fiber;
using portico::host::FiberStack;
using portico::host::StackPool;

namespace {

constexpr std::size_t kStack = 256 * 1024;

long long mapping_count() {
    std::ifstream in("/proc/self/maps");
    long long lines = 0;
    for (std::string line; std::getline(in, line);)
        ++lines;
    return lines;
}

// Resident pages of [from, to), page-aligned.
std::size_t resident_pages(void *from, void *to) {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const auto bytes = static_cast<std::size_t>(static_cast<char *>(to) - static_cast<char *>(from));
    std::vector<unsigned char> pages(bytes / page);
    if (::mincore(from, bytes, pages.data()) != 0) return 0;
    std::size_t resident = 0;
    for (const unsigned char p : pages)
        resident += p & 1;
    return resident;
}

TEST(StackPool, ManyStacksShareOneMapping) {
    if (!StackPool::guard_markers()) GTEST_SKIP() << "this kernel has no guard markers (Linux 6.13+)";
    StackPool pool(kStack);
    std::vector<FiberStack> stacks;
    stacks.reserve(1001);          // the vector's own growth maps nothing while we count (ASan's allocator would)
    stacks.push_back(pool.take()); // the first region
    const long long before = mapping_count();
    for (int i = 0; i < 1000; ++i)
        stacks.push_back(pool.take());
    // Fewer than one per 100 stacks (#20's bound): a new region, or under
    // ASan its shadow's and allocator's own mappings, may add a few.
    EXPECT_LE(mapping_count() - before, 10) << "1000 pooled stacks added a mapping each";
    for (std::size_t i = 1; i < stacks.size(); ++i) {
        const auto *previous_top = static_cast<char *>(stacks[i - 1].top());
        const auto *bottom = static_cast<char *>(stacks[i].bottom());
        // Whatever order they come in, no two stacks are closer than a guard.
        if (bottom > previous_top) {
            EXPECT_GE(bottom - previous_top, static_cast<long>(FiberStack::kGuardBytes));
        }
        EXPECT_EQ(stacks[i].size(), kStack);
    }
}

TEST(StackPool, FreedStacksAreReused) {
    StackPool pool(kStack);
    void *first = nullptr;
    {
        FiberStack stack = pool.take();
        first = stack.bottom();
    }
    FiberStack again = pool.take();
    EXPECT_EQ(again.bottom(), first);
}

int recurse(int depth) {
    volatile char frame[1024];
    frame[0] = static_cast<char>(depth);
    return depth == 0 ? frame[0] : recurse(depth - 1) + frame[0];
}

TEST(StackPool, ParkedFiberGivesBackItsDeadStack) {
    struct Parked {
        int deep = -1;
        int after = -1;
        static void body(void *self) {
            auto &p = *static_cast<Parked *>(self);
            p.deep = recurse(120); // ~120 KiB of frames, dead once it returns
            std::string kept = "frames above the stack pointer stay";
            Fiber::current()->suspend();
            p.after = kept == "frames above the stack pointer stay" ? 1 : 0;
        }
    } parked;
    StackPool pool(kStack);
    FiberStack stack = pool.take();
    auto *bottom = static_cast<char *>(stack.bottom());
    char *parked_region = static_cast<char *>(stack.top()) - 64 * 1024; // where it parks, with room to spare
    Fiber fiber(std::move(stack), &Parked::body, &parked);
    fiber.resume();
    ASSERT_FALSE(fiber.finished());
    ASSERT_EQ(parked.deep, 120 * 121 / 2);
    EXPECT_GT(resident_pages(bottom, parked_region), 8u) << "the recursion should have touched these";
    fiber.release_dead_stack();
#if defined(__x86_64__) && !defined(PORTICO_FIBER_UCONTEXT)
    EXPECT_EQ(resident_pages(bottom, parked_region), 0u);
#endif
    fiber.resume();
    EXPECT_TRUE(fiber.finished());
    EXPECT_EQ(parked.after, 1);
}

TEST(StackPool, ReleaseBelowGivesBackOnlyDeadPages) {
    StackPool pool(kStack);
    FiberStack stack = pool.take();
    auto *bottom = static_cast<char *>(stack.bottom());
    auto *middle = bottom + kStack / 2;
    for (char *p = bottom; p < static_cast<char *>(stack.top()); p += 4096)
        *static_cast<volatile char *>(p) = 1;
    ASSERT_EQ(resident_pages(bottom, middle), kStack / 2 / 4096);
    stack.release_below(middle + 100); // a stack pointer inside the page at `middle`
    EXPECT_EQ(resident_pages(bottom, middle), 0u);
    EXPECT_EQ(resident_pages(middle, stack.top()), kStack / 2 / 4096) << "live pages were given back";
    EXPECT_EQ(*static_cast<volatile char *>(middle), 1);
}

TEST(StackPoolDeathTest, WriteBelowAPooledStackFaults) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    StackPool pool(kStack);
    FiberStack lower = pool.take();
    FiberStack upper = pool.take(); // its guard is all that separates it from `lower`
    EXPECT_DEATH(static_cast<volatile char *>(upper.bottom())[-1] = 1, "");
    EXPECT_DEATH(static_cast<volatile char *>(upper.bottom())[-static_cast<long>(FiberStack::kGuardBytes)] = 1, "");
}

TEST(StackPoolDeathTest, OverflowOfAPooledStackHitsItsGuard) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    struct Overflow {
        static void body(void *) { recurse(1 << 20); } // ~1 GiB of frames
    };
    EXPECT_DEATH(
        {
            StackPool pool(64 * 1024);
            FiberStack lower = pool.take();
            Fiber fiber(pool.take(), &Overflow::body, nullptr);
            fiber.resume();
        },
        "");
}

} // namespace
