// Readiness.cpp — the reasons that keep /ready at 503, under one mutex:
// the main loop, reloads, the retirement timer and the admin server touch them.
#include "app/Readiness.h"

#include <algorithm>

namespace portico::host {

void Readiness::hold(const std::string &key, std::string reason) {
    std::lock_guard lock(mutex_);
    const auto it = std::find_if(holds_.begin(), holds_.end(), [&](const auto &h) { return h.first == key; });
    if (it != holds_.end())
        it->second = std::move(reason);
    else
        holds_.emplace_back(key, std::move(reason));
}

void Readiness::release(const std::string &key) {
    std::lock_guard lock(mutex_);
    std::erase_if(holds_, [&](const auto &h) { return h.first == key; });
}

std::string Readiness::reason() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto &[key, reason] : holds_)
        out += (out.empty() ? "" : "; ") + reason;
    return out;
}

ReadinessHold::ReadinessHold(Readiness &readiness, std::string key, std::string reason)
    : readiness_(readiness), key_(std::move(key)) {
    readiness_.hold(key_, std::move(reason));
}

ReadinessHold::~ReadinessHold() {
    readiness_.release(key_);
}

} // namespace portico::host
