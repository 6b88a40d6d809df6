// Readiness.h — why the host should get no new connections now (starting,
// rebuilding services, draining before a stop): what /ready answers 503 with.
#pragma once

#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace portico::host {

class Readiness {
public:
    // Not ready for `key` because of `reason` until release(key); a second
    // hold for the same key replaces its reason.
    void hold(const std::string &key, std::string reason);
    void release(const std::string &key);
    // "" when nothing holds readiness down; else every reason, oldest first,
    // joined with "; ".
    std::string reason() const;

private:
    mutable std::mutex mutex_;
    std::vector<std::pair<std::string, std::string>> holds_; // key, reason; in the order taken
};

// Holds readiness down for its lifetime (a reload rebuilding services).
class ReadinessHold {
public:
    ReadinessHold(Readiness &readiness, std::string key, std::string reason);
    ~ReadinessHold();
    ReadinessHold(const ReadinessHold &) = delete;
    ReadinessHold &operator=(const ReadinessHold &) = delete;

private:
    Readiness &readiness_;
    std::string key_;
};

} // namespace portico::host
