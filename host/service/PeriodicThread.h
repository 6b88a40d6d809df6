// PeriodicThread.h — a thread that runs one job every `period` until it is
// stopped (or destroyed): a service's housekeeping, such as expiring queued
// connections (ThreadsService) or watching for stalled event loops
// (EventService). stop() wakes it at once instead of waiting out a period.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace portico::host {

class PeriodicThread {
public:
    PeriodicThread() = default;
    ~PeriodicThread() { stop(); }
    PeriodicThread(const PeriodicThread &) = delete;
    PeriodicThread &operator=(const PeriodicThread &) = delete;

    // Starts the thread; `job` runs first after one period.
    void start(std::chrono::milliseconds period, std::function<void()> job) {
        thread_ = std::thread([this, period, job = std::move(job)] {
            std::unique_lock lock(mutex_);
            while (!stop_) {
                wake_.wait_for(lock, period);
                if (stop_) break;
                lock.unlock();
                job();
                lock.lock();
            }
        });
    }
    // Idempotent; returns once the job has run for the last time.
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

private:
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

} // namespace portico::host
