// Fiber.cpp — the stack switch under mode events, and what the sanitizers
// need to hear about it.
#include "event/Fiber.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <cxxabi.h>
#include <memory>
#include <new>
#include <utility>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define PORTICO_FIBER_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define PORTICO_FIBER_TSAN 1
#endif

#if defined(__x86_64__) && !defined(PORTICO_FIBER_UCONTEXT)
#define PORTICO_FIBER_ASM 1
#else
#include <ucontext.h>
#endif

// Compaction needs the parked stack pointer (the assembly switch saves it;
// ucontext hides it). Not under AddressSanitizer: its locals live in fake
// stacks on the side and the real stack carries poisoned redzones, so the
// copy would read poisoned bytes and leave the poison where the copy put
// them back; the sanitizer builds run with full stacks instead.
#if defined(PORTICO_FIBER_ASM) && !defined(PORTICO_FIBER_ASAN)
#define PORTICO_FIBER_COMPACT 1
#endif

#ifdef PORTICO_FIBER_ASM
// FiberSwitch.S
extern "C" void portico_fiber_switch(void **save, void *load);
extern "C" void portico_fiber_start();
#endif

namespace portico::host {
namespace {

// The C++ runtime keeps the exceptions being handled (what `throw;` rethrows)
// and std::uncaught_exceptions() per thread. Fibers on one thread must each
// have their own, or a fiber suspended in a catch block or a destructor
// during unwinding would see, and disturb, another's. This is
// __cxa_eh_globals as libstdc++ and libc++abi lay it out (part of the
// Itanium C++ ABI's runtime, stable across their versions).
struct EhGlobals {
    void *caught_exceptions;
    unsigned int uncaught_exceptions;
};

EhGlobals *eh_globals() {
    return reinterpret_cast<EhGlobals *>(abi::__cxa_get_globals());
}

} // namespace

#ifdef PORTICO_FIBER_ASM
struct Fiber::Context {};
#else
struct Fiber::Context {
    ucontext_t fiber{};
    ucontext_t caller{};
};
#endif

// makecontext passes int arguments only: the Fiber pointer comes in two halves.
void Fiber::ucontext_entry(unsigned hi, unsigned lo) {
    entry(reinterpret_cast<void *>((static_cast<std::uintptr_t>(hi) << 32) | static_cast<std::uintptr_t>(lo)));
}

Fiber::Fiber(FiberStack stack, Body body, void *arg) : stack_(std::move(stack)), body_(body), arg_(arg) {
#ifdef PORTICO_FIBER_ASAN
    // A reused stack keeps the poison of the frames its last fiber never
    // returned from (the bottom ones): clear it for the new frames.
    __asan_unpoison_memory_region(stack_.bottom(), stack_.size());
#endif
#ifdef PORTICO_FIBER_ASM
    // The frame the first switch pops (lowest address first):
    //   [mxcsr | x87 cw] r15 r14 r13 r12 rbx rbp return-address, then padding,
    // placed so that the stack is 16-byte aligned after `ret` (ABI: before a call).
    void **top = static_cast<void **>(stack_.top());
    void **sp = top - 10;
    std::uint32_t mxcsr = 0;
    std::uint16_t x87_cw = 0;
    asm volatile("stmxcsr %0" : "=m"(mxcsr));
    asm volatile("fnstcw %0" : "=m"(x87_cw));
    const std::uint64_t control = mxcsr | (static_cast<std::uint64_t>(x87_cw) << 32);
    sp[0] = reinterpret_cast<void *>(control);
    sp[1] = nullptr;                                 // r15
    sp[2] = nullptr;                                 // r14
    sp[3] = reinterpret_cast<void *>(&Fiber::entry); // r13: what portico_fiber_start calls
    sp[4] = this;                                    // r12: its argument
    sp[5] = nullptr;                                 // rbx
    sp[6] = nullptr;                                 // rbp: the end of the frame chain
    sp[7] = reinterpret_cast<void *>(&portico_fiber_start);
    sp[8] = nullptr;
    sp[9] = nullptr;
    sp_ = sp;
#else
    context_ = std::make_unique<Context>();
    getcontext(&context_->fiber);
    context_->fiber.uc_stack.ss_sp = stack_.bottom();
    context_->fiber.uc_stack.ss_size = stack_.size();
    context_->fiber.uc_link = nullptr;
    const auto bits = reinterpret_cast<std::uintptr_t>(this);
    makecontext(&context_->fiber, reinterpret_cast<void (*)()>(&Fiber::ucontext_entry), 2,
                static_cast<unsigned>(bits >> 32), static_cast<unsigned>(bits & 0xffffffffu));
#endif
#ifdef PORTICO_FIBER_TSAN
    tsan_fiber_ = __tsan_create_fiber(0);
#endif
}

Fiber::~Fiber() {
    // A fiber suspended mid-body would leave its objects undestroyed.
    if (started_ && !finished_) std::abort();
#ifdef PORTICO_FIBER_TSAN
    __tsan_destroy_fiber(tsan_fiber_);
#endif
}

FiberStack Fiber::take_stack() {
    return std::move(stack_);
}

void Fiber::release_dead_stack() noexcept {
    if (!started_ || finished_ || tl_current_ == this) return;
#ifdef PORTICO_FIBER_ASM
    stack_.release_below(sp_);
#endif
}

bool Fiber::can_compact() {
#ifdef PORTICO_FIBER_COMPACT
    return true;
#else
    return false;
#endif
}

bool Fiber::compact() noexcept {
#ifdef PORTICO_FIBER_COMPACT
    if (!stack_private_ || !started_ || finished_ || tl_current_ == this || saved_ != nullptr) return false;
    const auto *from = static_cast<const char *>(sp_);
    const auto used = static_cast<std::size_t>(static_cast<const char *>(stack_.top()) - from);
    if (used > kMaxCompactBytes) return false;
    std::unique_ptr<char[]> copy(new (std::nothrow) char[used]);
    if (copy == nullptr) return false;
    std::memcpy(copy.get(), from, used);
    saved_ = std::move(copy);
    saved_bytes_ = used;
    ++compactions_;
    stack_.release_all();
    return true;
#else
    return false;
#endif
}

void Fiber::resume() {
    if (finished_ || tl_current_ == this) return;
    if (saved_ != nullptr) {
        // Back where it was, before anything (the switch, the crash report's
        // running code) may read the stack.
        std::memcpy(sp_, saved_.get(), saved_bytes_);
        saved_.reset();
        saved_bytes_ = 0;
    }
    started_ = true;
    ++resumes_;
    previous_ = std::exchange(tl_current_, this);
    // The runtime's per-thread block: a fiber stays on one thread, so the
    // address is looked up once.
    if (eh_ == nullptr) eh_ = eh_globals();
    auto *eh = static_cast<EhGlobals *>(eh_);
    const EhGlobals caller_eh = std::exchange(*eh, EhGlobals{eh_caught_, eh_uncaught_});
    const RunningCode *caller_running = exchange_running_code(running_);
#ifdef PORTICO_FIBER_ASAN
    void *caller_fake_stack = nullptr;
    __sanitizer_start_switch_fiber(&caller_fake_stack, stack_.bottom(), stack_.size());
#endif
#ifdef PORTICO_FIBER_TSAN
    tsan_caller_ = __tsan_get_current_fiber();
    __tsan_switch_to_fiber(tsan_fiber_, 0);
#endif
#ifdef PORTICO_FIBER_ASM
    portico_fiber_switch(&caller_sp_, sp_);
#else
    swapcontext(&context_->caller, &context_->fiber);
#endif
#ifdef PORTICO_FIBER_ASAN
    __sanitizer_finish_switch_fiber(caller_fake_stack, nullptr, nullptr);
#endif
    const EhGlobals fiber_eh = std::exchange(*eh, caller_eh);
    eh_caught_ = fiber_eh.caught_exceptions;
    eh_uncaught_ = fiber_eh.uncaught_exceptions;
    running_ = exchange_running_code(caller_running);
    tl_current_ = previous_;
}

void Fiber::suspend() {
    // Only the fiber itself may suspend; anything else is a host bug that
    // would return into the wrong stack later.
    if (tl_current_ != this) std::abort();
    switch_out(false);
}

void Fiber::switch_out(bool finishing) {
#ifdef PORTICO_FIBER_ASAN
    // nullptr when finishing: ASan frees this fiber's fake stack.
    __sanitizer_start_switch_fiber(finishing ? nullptr : &fake_stack_, caller_bottom_, caller_size_);
#else
    (void)finishing;
#endif
#ifdef PORTICO_FIBER_TSAN
    __tsan_switch_to_fiber(tsan_caller_, 0);
#endif
#ifdef PORTICO_FIBER_ASM
    portico_fiber_switch(&sp_, caller_sp_);
#else
    swapcontext(&context_->fiber, &context_->caller);
#endif
    // Resumed again.
#ifdef PORTICO_FIBER_ASAN
    __sanitizer_finish_switch_fiber(fake_stack_, &caller_bottom_, &caller_size_);
#endif
}

void Fiber::entry(void *self) {
    auto *fiber = static_cast<Fiber *>(self);
#ifdef PORTICO_FIBER_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &fiber->caller_bottom_, &fiber->caller_size_);
#endif
    fiber->body_(fiber->arg_);
    fiber->finished_ = true;
    fiber->switch_out(true);
    std::abort(); // a finished fiber is never resumed
}

} // namespace portico::host
