// DatagramWorkers.cpp — the queue discipline and the grow/shrink rules.
#include "service/DatagramWorkers.h"

#include <algorithm>

#include <pthread.h>

namespace portico::host {
namespace {

uint64_t generation_of(const DatagramJob &job) {
    return job.binding ? job.binding->version().generation() : 0;
}

} // namespace

DatagramWorkers::DatagramWorkers(Params params, Run run) : params_(std::move(params)), run_(std::move(run)) {
    std::lock_guard lock(mutex_);
    for (int i = 0; i < params_.min_threads; ++i)
        spawn_locked();
}

DatagramWorkers::~DatagramWorkers() {
    std::deque<DatagramJob> discarded;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        discarded.swap(queue_);
    }
    work_ready_.notify_all();
    // No lock: an exiting worker needs mutex_ to leave, and no new worker can
    // appear once stopping_ is set (only try_submit spawns, and it refuses).
    for (Worker &worker : workers_)
        worker.thread->join();
    // `discarded` goes last: its bindings may be the last owners of a plugin
    // version, which the registry then unloads; nothing here may run after.
}

void DatagramWorkers::spawn_locked() {
    Worker &worker = workers_.emplace_back();
    worker.thread = std::make_unique<Poco::Thread>();
    if (params_.stack_bytes > 0) worker.thread->setStackSize(params_.stack_bytes);
    const std::string name = params_.name + ":" + std::to_string(++spawned_);
    ++live_;
    worker.thread->startFunc([this, &worker, name] {
        // Linux thread names hold 15 characters; keep the counter visible.
        const std::string shown = name.size() <= 15 ? name : name.substr(0, 7) + "~" + name.substr(name.size() - 7);
        pthread_setname_np(pthread_self(), shown.c_str());
        loop(worker);
    });
}

void DatagramWorkers::reap_exited_locked() {
    // An exited worker released mutex_ for the last time before we could see
    // `exited`, so joining here, under the lock, cannot deadlock.
    for (auto it = workers_.begin(); it != workers_.end();) {
        if (!it->exited) {
            ++it;
            continue;
        }
        it->thread->join();
        it = workers_.erase(it);
    }
}

bool DatagramWorkers::try_submit(DatagramJob &job) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || queue_.size() >= std::max<std::size_t>(1, params_.capacity)) return false;
        queue_.push_back(std::move(job));
        const std::size_t idle = live_ - busy_;
        if (idle < queue_.size() && live_ < static_cast<std::size_t>(params_.max_threads)) {
            reap_exited_locked();
            spawn_locked();
        }
    }
    work_ready_.notify_one();
    return true;
}

void DatagramWorkers::loop(Worker &self) {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (queue_.empty()) {
            const bool surplus = live_ > static_cast<std::size_t>(params_.min_threads);
            if (!surplus) {
                work_ready_.wait(lock);
                continue;
            }
            const bool woken = work_ready_.wait_for(lock, params_.idle, [&] { return stopping_ || !queue_.empty(); });
            if (!woken && live_ > static_cast<std::size_t>(params_.min_threads)) break; // idle surplus thread
            continue;
        }
        DatagramJob job = std::move(queue_.front());
        queue_.pop_front();
        ++busy_;
        const auto running = running_generations_.insert(generation_of(job));
        lock.unlock();
        try {
            run_(job);
        } catch (...) {
            // run_ promises not to throw; a pool thread must survive anyway.
        }
        // Released outside the lock: dropping the last binding runs plugin code.
        job = DatagramJob{};
        lock.lock();
        running_generations_.erase(running);
        --busy_;
        if (queue_.empty() && busy_ == 0) all_idle_.notify_all();
    }
    --live_;
    self.exited = true;
}

bool DatagramWorkers::wait_idle(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return all_idle_.wait_until(lock, deadline, [&] { return queue_.empty() && busy_ == 0; });
}

std::size_t DatagramWorkers::discard_queued(const std::function<bool(const DatagramJob &)> &drop) {
    std::deque<DatagramJob> discarded;
    {
        std::lock_guard lock(mutex_);
        for (auto it = queue_.begin(); it != queue_.end();) {
            if (drop(*it)) {
                discarded.push_back(std::move(*it));
                it = queue_.erase(it);
            } else {
                ++it;
            }
        }
        if (queue_.empty() && busy_ == 0) all_idle_.notify_all();
    }
    return discarded.size(); // their bindings are released here, outside the lock
}

std::map<uint64_t, std::size_t> DatagramWorkers::jobs_by_generation() const {
    std::map<uint64_t, std::size_t> jobs;
    std::lock_guard lock(mutex_);
    for (const DatagramJob &job : queue_)
        ++jobs[generation_of(job)];
    for (const uint64_t generation : running_generations_)
        ++jobs[generation];
    return jobs;
}

std::size_t DatagramWorkers::threads() const {
    std::lock_guard lock(mutex_);
    return live_;
}

std::size_t DatagramWorkers::running() const {
    std::lock_guard lock(mutex_);
    return busy_;
}

} // namespace portico::host
