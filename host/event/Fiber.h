// Fiber.h — a user-space thread of execution on its own stack, switched to
// and from by its event loop (mode events: one fiber per connection). A
// stream handler's blocking read suspends its fiber instead of its thread,
// so one loop thread serves many connections with the plugin API unchanged.
//
// A fiber runs on the thread that resumes it and never moves to another.
// resume() is called by the loop (never from inside a fiber); suspend() by
// the fiber itself. The switch is a few instructions of assembly on x86_64
// (FiberSwitch.S, no system call), ucontext elsewhere; each fiber has its
// own C++ exception-handling state, and AddressSanitizer and
// ThreadSanitizer are told about every switch.
#pragma once

#include "event/FiberStack.h"
#include "plugin/RunningCode.h"

#include <cstddef>
#include <memory>

namespace portico::host {

class Fiber {
public:
    using Body = void (*)(void *arg);

    // Does not run body yet: the first resume() does. body must not throw
    // (an exception escaping it terminates the process).
    Fiber(FiberStack stack, Body body, void *arg);
    // Only a fiber that never started or has finished may be destroyed.
    ~Fiber();
    Fiber(const Fiber &) = delete;
    Fiber &operator=(const Fiber &) = delete;

    // Runs the fiber until it suspends or its body returns.
    void resume();
    // From inside this fiber (aborts otherwise): back to the resume() that ran it.
    void suspend();
    bool finished() const { return finished_; }
    // How many times the fiber has been resumed: a count that stands still
    // means it has been parked all along.
    unsigned long long resumes() const { return resumes_; }
    // A suspended fiber's dead stack (below where it is parked) back to the
    // kernel; nothing in builds that do not know the parked stack pointer.
    void release_dead_stack() noexcept;
    // From inside the fiber: whether the code it runs now promised that
    // nothing outside this fiber reads or writes objects on its stack while
    // it is suspended (a handler's PORTICO_TRAIT_STACK_PRIVATE, with the
    // host's own frames below it holding nothing others reach).
    void set_stack_private(bool on) { stack_private_ = on; }
    // A suspended fiber with a private stack: copies the used part of its
    // stack (saved stack pointer to top, at most kMaxCompactBytes) to a heap
    // block of that size and gives all of the stack's pages back to the
    // kernel; the address range stays this fiber's, so every pointer into
    // the stack is still good once resume() has copied the bytes back.
    // Returns whether it did; never in builds that do not know the parked
    // stack pointer, nor under AddressSanitizer (see Fiber.cpp).
    bool compact() noexcept;
    bool compacted() const { return saved_ != nullptr; }
    // How many times compact() did.
    unsigned long long compactions() const { return compactions_; }
    // Whether this build can compact at all.
    static bool can_compact();
    // A fiber parked deeper than this keeps its pages: the copy it would
    // make on every wake-up after a long wait would cost more than it saves.
    static constexpr std::size_t kMaxCompactBytes = 16 * 1024;
    // The stack, for reuse by another fiber once this one has finished.
    FiberStack take_stack();

    // The fiber running on this thread, or nullptr on a thread's own stack.
    static Fiber *current() { return tl_current_; }

private:
    struct Context; // ucontext builds: both sides' saved state (Fiber.cpp)
    // The first code a fiber runs (its bottom frame calls this).
    static void entry(void *self);
    // ucontext builds: entry with the Fiber pointer in two int halves.
    static void ucontext_entry(unsigned hi, unsigned lo);
    void switch_out(bool finishing);

    FiberStack stack_;
    Body body_;
    void *arg_;
    bool started_ = false;
    bool finished_ = false;
    unsigned long long resumes_ = 0;
    bool stack_private_ = false;
    std::unique_ptr<char[]> saved_; // the used stack while compacted, copied back by resume()
    std::size_t saved_bytes_ = 0;
    unsigned long long compactions_ = 0;
    void *sp_ = nullptr;        // the fiber's saved stack pointer while it is suspended
    void *caller_sp_ = nullptr; // the resumer's saved stack pointer while the fiber runs
    Fiber *previous_ = nullptr; // current() before resume()
    static inline thread_local Fiber *tl_current_ = nullptr;
    // The thread's C++ exception-handling block, and the fiber's own state
    // kept there while it runs and here while it is suspended (Fiber.cpp).
    void *eh_ = nullptr;
    void *eh_caught_ = nullptr;
    unsigned int eh_uncaught_ = 0;
    // The plugin code this fiber runs (RunningCode.h), installed for the
    // thread while it runs so a crash report names this fiber's handler.
    const RunningCode *running_ = nullptr;
    // Sanitizer bookkeeping (unused in plain builds).
    void *fake_stack_ = nullptr;
    const void *caller_bottom_ = nullptr;
    std::size_t caller_size_ = 0;
    void *tsan_fiber_ = nullptr;
    void *tsan_caller_ = nullptr;
    std::unique_ptr<Context> context_; // ucontext builds only
};

} // namespace portico::host
