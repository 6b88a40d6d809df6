// DatagramWorkers.h — the bounded pool that runs a UDP service's handlers: a
// queue of at most `capacity` datagrams and min..max threads that grow while
// every thread is busy and shrink back to min after `idle` without work.
// try_submit never blocks, so a slow handler cannot stall the receive loop;
// a full queue is refused and the caller counts the drop.
#pragma once

#include "service/DatagramJob.h"

#include <Poco/Thread.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace portico::host {

class DatagramWorkers {
public:
    struct Params {
        std::string name; // thread names: "<name>:<n>"
        int min_threads = 1;
        int max_threads = 1;
        std::chrono::milliseconds idle{60'000};
        std::size_t capacity = 64; // datagrams waiting for a thread; at least 1
        int stack_bytes = 0;       // 0: the platform default
    };
    // Runs one job; must not throw (the pool catches and drops what escapes).
    using Run = std::function<void(DatagramJob &)>;

    DatagramWorkers(Params params, Run run);
    // Discards what is still queued, lets running jobs finish, joins every thread.
    ~DatagramWorkers();
    DatagramWorkers(const DatagramWorkers &) = delete;
    DatagramWorkers &operator=(const DatagramWorkers &) = delete;

    // Queues the job (moving from it) unless the queue is full; false then.
    bool try_submit(DatagramJob &job);
    // Waits until nothing is queued or running, or the deadline passes.
    bool wait_idle(std::chrono::steady_clock::time_point deadline);
    // Removes queued jobs for which `drop` is true; returns how many.
    std::size_t discard_queued(const std::function<bool(const DatagramJob &)> &drop);

    // Queued and running jobs per plugin generation they pinned.
    std::map<uint64_t, std::size_t> jobs_by_generation() const;
    std::size_t threads() const;
    std::size_t running() const;

private:
    struct Worker {
        std::unique_ptr<Poco::Thread> thread;
        bool exited = false; // set by the worker itself, under mutex_, as it leaves
    };
    void spawn_locked();
    void reap_exited_locked();
    void loop(Worker &self);

    const Params params_;
    const Run run_;

    mutable std::mutex mutex_;
    std::condition_variable work_ready_;
    std::condition_variable all_idle_;
    std::deque<DatagramJob> queue_;
    std::multiset<uint64_t> running_generations_; // of the jobs inside run_
    std::list<Worker> workers_;                   // list: a Worker's address stays valid for its thread
    std::size_t live_ = 0;                        // threads not yet exited
    std::size_t busy_ = 0;                        // threads inside run_
    std::size_t spawned_ = 0;                     // for thread names
    bool stopping_ = false;
};

} // namespace portico::host
