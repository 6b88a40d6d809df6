// SessionTable.cpp — who is open, under one mutex; force_close() from here
// is shutdown(2), safe from any thread.
#include "service/SessionTable.h"

namespace portico::host {

void SessionTable::add(Connection &conn, const HandlerBinding &binding) {
    std::lock_guard lock(mutex_);
    sessions_.emplace(&conn, &binding);
}

void SessionTable::remove(Connection &conn) {
    std::lock_guard lock(mutex_);
    sessions_.erase(&conn);
    if (sessions_.empty()) empty_.notify_all();
}

bool SessionTable::wait_empty(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return empty_.wait_until(lock, deadline, [&] { return sessions_.empty(); });
}

void SessionTable::close_all() {
    std::lock_guard lock(mutex_);
    for (const auto &[conn, binding] : sessions_)
        conn->force_close();
}

std::size_t SessionTable::close_replaced_by(std::chrono::steady_clock::time_point replaced_by) {
    std::size_t closed = 0;
    std::lock_guard lock(mutex_);
    // Each open session holds its binding, so the pointers are alive here.
    for (const auto &[conn, binding] : sessions_) {
        if (binding->replaced_at() > replaced_by) continue;
        conn->force_close();
        ++closed;
    }
    return closed;
}

std::map<uint64_t, std::size_t> SessionTable::by_generation() {
    std::map<uint64_t, std::size_t> counts;
    std::lock_guard lock(mutex_);
    // Each open session holds its binding, so the pointers are alive here.
    for (const auto &[conn, binding] : sessions_)
        ++counts[binding->version().generation()];
    return counts;
}

} // namespace portico::host
