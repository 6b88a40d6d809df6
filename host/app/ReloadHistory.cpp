// ReloadHistory.cpp — a bounded, locked ring of reload records.
#include "app/ReloadHistory.h"

namespace portico::host {

void ReloadHistory::record(ReloadRecord record) {
    std::lock_guard lock(mutex_);
    ++total_;
    if (!record.ok()) ++failed_;
    entries_.push_back(std::move(record));
    while (entries_.size() > kCapacity)
        entries_.pop_front();
}

std::vector<ReloadRecord> ReloadHistory::entries() const {
    std::lock_guard lock(mutex_);
    return {entries_.begin(), entries_.end()};
}

uint64_t ReloadHistory::total() const {
    std::lock_guard lock(mutex_);
    return total_;
}

uint64_t ReloadHistory::failed() const {
    std::lock_guard lock(mutex_);
    return failed_;
}

} // namespace portico::host
