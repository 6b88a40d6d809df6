// RunningCode.cpp — the per-thread record of the plugin code running, and
// each thread's alternate signal stack.
#include "plugin/RunningCode.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>

#include <signal.h>

namespace portico::host {
namespace {

// Per thread, not global: each thread (fiber, via Fiber::resume) runs its own code.
thread_local const RunningCode *tl_running = nullptr;

// Enough for the report's write(2)s, backtrace() and backtrace_symbols_fd()
// (which write to the fd without malloc) beside the kernel's signal frame.
constexpr std::size_t kSignalStackSize = 64 * 1024;

class SignalStack {
public:
    SignalStack() : memory_(std::make_unique<char[]>(kSignalStackSize)) {
        stack_t stack{};
        stack.ss_sp = memory_.get();
        stack.ss_size = kSignalStackSize;
        installed_ = ::sigaltstack(&stack, nullptr) == 0;
    }
    ~SignalStack() {
        if (!installed_) return;
        // Unregistered before the memory goes; a thread ending is never on it.
        stack_t off{};
        off.ss_flags = SS_DISABLE;
        ::sigaltstack(&off, nullptr);
    }
    SignalStack(const SignalStack &) = delete;
    SignalStack &operator=(const SignalStack &) = delete;

private:
    std::unique_ptr<char[]> memory_;
    bool installed_ = false;
};

void append(RunningCode &code, std::string_view text) {
    const std::size_t room = sizeof code.text - code.length;
    const std::size_t n = std::min(room, text.size());
    std::memcpy(code.text + code.length, text.data(), n);
    code.length += n;
}

} // namespace

const RunningCode *running_code() {
    return tl_running;
}

const RunningCode *exchange_running_code(const RunningCode *code) {
    return std::exchange(tl_running, code);
}

void ensure_signal_stack() {
    thread_local SignalStack stack;
}

RunningCodeScope::RunningCodeScope(std::string_view service, std::string_view plugin, std::string_view version,
                                   unsigned long long generation, std::string_view handler, std::string_view peer) {
    ensure_signal_stack();
    append(code_, "service '");
    append(code_, service);
    append(code_, "', plugin ");
    append(code_, plugin);
    append(code_, " version ");
    append(code_, version);
    char number[32];
    const int n = std::snprintf(number, sizeof number, " (generation %llu)", generation);
    append(code_, std::string_view(number, n > 0 ? static_cast<std::size_t>(n) : 0));
    append(code_, ", handler ");
    append(code_, handler);
    if (!peer.empty()) {
        append(code_, ", peer ");
        append(code_, peer);
    }
    previous_ = exchange_running_code(&code_);
}

RunningCodeScope::~RunningCodeScope() {
    exchange_running_code(previous_);
}

} // namespace portico::host
