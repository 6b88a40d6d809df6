// StackPool.h — one event loop's fiber stacks, carved from large regions
// instead of mapped one by one: a region is one memory mapping whatever
// number of stacks it holds, and each stack's guard is a guard marker
// (madvise MADV_GUARD_INSTALL, Linux 6.13+), which faults like a PROT_NONE
// page but splits no mapping. Where the kernel has no guard markers, every
// stack is its own mapping with a PROT_NONE guard, as FiberStack maps it.
#pragma once

#include "event/FiberStack.h"

#include <cstddef>
#include <vector>

namespace portico::host {

class StackPool {
public:
    // stack_bytes: each stack's usable size (rounded up to pages).
    explicit StackPool(std::size_t stack_bytes);
    ~StackPool();
    StackPool(const StackPool &) = delete;
    StackPool &operator=(const StackPool &) = delete;

    // A stack for a new fiber. Throws std::system_error (ENOMEM) when no
    // region can be mapped.
    FiberStack take();
    // Whether this kernel has guard markers: stacks then cost no mapping each.
    static bool guard_markers();

    // Free stacks kept resident for reuse: connection churn then costs no
    // page faults, and a burst that ended gives the rest back to the kernel.
    static constexpr std::size_t kResidentSpares = 64;

private:
    friend class FiberStack;
    struct Region {
        char *base;
        std::size_t bytes;
    };
    // FiberStack's destructor: the stack at `bottom` is free again.
    void give_back(void *bottom) noexcept;
    void map_region();

    std::size_t stack_bytes_;
    std::size_t slot_bytes_; // the guard below, then the stack
    std::size_t slots_per_region_;
    std::vector<Region> regions_;
    // Bottoms of free stacks: those that still hold their pages (up to
    // kResidentSpares, taken first), and those given back to the kernel.
    // Both have room for every stack, so give_back never allocates.
    std::vector<void *> resident_;
    std::vector<void *> released_;
};

} // namespace portico::host
