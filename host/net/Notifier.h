// Notifier.h — what a plugin's `portico_notifier *` points at: a wake-up flag
// any thread may raise, and the waits (one per session, at most a few) parked
// on it until it is raised. Signals coalesce; one raised before a wait is
// kept for it (level-triggered), and the wait that reports it lowers it.
#pragma once

#include "portico/portico.h"

#include <atomic>
#include <cstddef>
#include <mutex>
#include <vector>

namespace portico::host {

// A wait parked on a notifier: mode threads (PollWait, an eventfd) or mode
// events (FiberIo, through its loop).
class NotifyWaiter {
public:
    // Any thread, with the notifier's lock held: must not block or call the
    // notifier back; the wait then returns as soon as it can.
    virtual void notify() noexcept = 0;

protected:
    ~NotifyWaiter() = default;
};

} // namespace portico::host

struct portico_notifier {
public:
    portico_notifier(const portico_notifier &) = delete;
    portico_notifier &operator=(const portico_notifier &) = delete;

    // The plugin's handle, holding the first reference. Throws std::bad_alloc.
    static portico_notifier *create();
    // Any thread: raises the flag and wakes every parked wait.
    void signal();
    // The plugin is done with its handle: parked waits return as if
    // signalled (and so does every later wait, until they let go), and the
    // memory goes with the last of them.
    void destroy();

    // A waiter keeps the notifier alive across its wait (a destroy() from
    // another thread meanwhile then only wakes it).
    void retain() { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release();

    // Parks `waiter` unless the flag is already up; false means it was, and
    // is now lowered: the wait reports it without waiting.
    bool arm(portico::host::NotifyWaiter &waiter);
    // Unparks `waiter`; whether the flag was up (it is lowered: reported).
    bool disarm(portico::host::NotifyWaiter &waiter);
    // Lowers the flag; whether it was up.
    bool consume();
    // How many waits are parked now (for tests and diagnostics).
    std::size_t parked() const;

private:
    portico_notifier() = default;
    ~portico_notifier() = default;

    mutable std::mutex mutex_;
    bool raised_ = false;
    bool destroyed_ = false;
    std::vector<portico::host::NotifyWaiter *> waiters_;
    std::atomic<int> refs_{1};
};

namespace portico::host {
using Notifier = portico_notifier;

// Holds a reference for the scope of one wait.
class NotifierRef {
public:
    explicit NotifierRef(Notifier &notifier) : notifier_(notifier) { notifier_.retain(); }
    ~NotifierRef() { notifier_.release(); }
    NotifierRef(const NotifierRef &) = delete;
    NotifierRef &operator=(const NotifierRef &) = delete;

private:
    Notifier &notifier_;
};
} // namespace portico::host
