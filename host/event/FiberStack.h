// FiberStack.h — the memory a fiber runs on, with a 64KiB guard below it:
// its own anonymous mapping with a PROT_NONE guard, or a slot of a
// StackPool region with a guard marker. Stacks lie next to each other, so
// the guard is what stands between an overflowing handler and its
// neighbour's frames: it is larger than any frame a sane handler has, and
// the host and plugins are built with -fstack-clash-protection, which makes
// a larger frame touch its pages in order, so it faults on the guard instead
// of jumping over it. Pages are committed by the kernel only when touched,
// so an idle connection costs what it actually used.
#pragma once

#include <cstddef>

namespace portico::host {

class StackPool;

class FiberStack {
public:
    // Address space only: never committed.
    static constexpr std::size_t kGuardBytes = 64 * 1024;

    // Throws std::system_error (ENOMEM) when the mapping fails.
    explicit FiberStack(std::size_t usable_bytes);
    ~FiberStack();
    FiberStack(FiberStack &&other) noexcept;
    FiberStack &operator=(FiberStack &&other) noexcept;
    FiberStack(const FiberStack &) = delete;
    FiberStack &operator=(const FiberStack &) = delete;

    // Lowest usable address (just above the guard) and usable size.
    void *bottom() const { return bottom_; }
    std::size_t size() const { return size_; }
    // One past the highest usable address, 16-byte aligned: where the stack starts.
    void *top() const { return static_cast<char *>(bottom_) + size_; }
    // Gives the whole pages below `sp` (the stack pointer of a suspended
    // fiber: nothing there is live) back to the kernel; they read as zeros
    // when touched again. What an idle connection's stack then costs is
    // only the frames it is parked in.
    void release_below(const void *sp) noexcept;
    // Gives every page of the stack back (they read as zeros when touched
    // again): for a fiber whose parked frames were copied out (Fiber::compact).
    void release_all() noexcept;

private:
    friend class StackPool;
    // A stack of pool's, given back to it when this is destroyed.
    FiberStack(StackPool &pool, void *bottom, std::size_t usable_bytes);
    void release() noexcept;

    void *mapping_ = nullptr;
    std::size_t mapping_bytes_ = 0;
    void *bottom_ = nullptr;
    std::size_t size_ = 0;
    unsigned valgrind_id_ = 0;  // the stack's id under valgrind (0 otherwise)
    StackPool *pool_ = nullptr; // set for a pool's stack, which has no mapping of its own
};

} // namespace portico::host
