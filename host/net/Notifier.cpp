// Notifier.cpp — the flag, its parked waits, and the reference count that
// lets destroy() race a wait in progress.
#include "net/Notifier.h"

#include <algorithm>

portico_notifier *portico_notifier::create() {
    return new portico_notifier();
}

void portico_notifier::signal() {
    std::lock_guard lock(mutex_);
    // Already up: every parked wait was woken when it went up.
    if (raised_) return;
    raised_ = true;
    for (auto *waiter : waiters_)
        waiter->notify();
}

void portico_notifier::destroy() {
    {
        std::lock_guard lock(mutex_);
        destroyed_ = true;
        raised_ = true;
        for (auto *waiter : waiters_)
            waiter->notify();
    }
    release();
}

void portico_notifier::release() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

bool portico_notifier::arm(portico::host::NotifyWaiter &waiter) {
    std::lock_guard lock(mutex_);
    if (raised_) {
        raised_ = destroyed_;
        return false;
    }
    waiters_.push_back(&waiter);
    return true;
}

bool portico_notifier::disarm(portico::host::NotifyWaiter &waiter) {
    std::lock_guard lock(mutex_);
    const auto it = std::find(waiters_.begin(), waiters_.end(), &waiter);
    if (it != waiters_.end()) waiters_.erase(it);
    const bool was = raised_;
    raised_ = destroyed_;
    return was;
}

bool portico_notifier::consume() {
    std::lock_guard lock(mutex_);
    const bool was = raised_;
    raised_ = destroyed_;
    return was;
}

std::size_t portico_notifier::parked() const {
    std::lock_guard lock(mutex_);
    return waiters_.size();
}
