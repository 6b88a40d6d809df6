// SessionTable.h — the open sessions of a stream service, each with the
// binding it pinned: for stop (close them all, wait for them), drain after a
// plugin reload (close those on an old binding) and status (how many per
// plugin generation).
#pragma once

#include "net/Connection.h"
#include "service/HandlerBinding.h"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>

namespace portico::host {

class SessionTable {
public:
    void add(Connection &conn, const HandlerBinding &binding);
    void remove(Connection &conn);
    // Waits until no session is open or the deadline passes; true if none left.
    bool wait_empty(std::chrono::steady_clock::time_point deadline);
    // force_close() on every session (their blocked calls return "stopping").
    void close_all();
    // force_close() on the sessions whose binding was replaced at or before
    // `replaced_by`; returns how many.
    std::size_t close_replaced_by(std::chrono::steady_clock::time_point replaced_by);
    std::map<uint64_t, std::size_t> by_generation();

private:
    std::mutex mutex_;
    std::condition_variable empty_;
    std::map<Connection *, const HandlerBinding *> sessions_; // open session → the binding it pinned
};

} // namespace portico::host
