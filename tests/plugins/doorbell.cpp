// doorbell — wake-ups from a thread the plugin started itself. Handler
// `bell`: a session whose first line is "wait" answers "ready", then waits on
// its peer's bytes or its own notifier and answers "woken" each time the
// notifier rings. A session whose first line is "ring" asks the service's
// ringer thread (a std::thread started in open()) to signal every waiting
// session's notifier, and answers "asked". Only that thread signals.
#include <portico/portico.hpp>

#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace {

class Ringer : public portico::ServiceContext {
public:
    void open() override {
        thread_ = std::thread([this] { run(); });
    }
    void close() override {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        asked_.notify_one();
        if (thread_.joinable()) thread_.join();
    }

    void add(const portico::Notifier &n) {
        std::lock_guard lock(mutex_);
        bells_.insert(&n);
    }
    void remove(const portico::Notifier &n) {
        std::lock_guard lock(mutex_);
        bells_.erase(&n);
    }
    void ask() {
        {
            std::lock_guard lock(mutex_);
            ++rings_;
        }
        asked_.notify_one();
    }

private:
    void run() {
        std::unique_lock lock(mutex_);
        for (;;) {
            asked_.wait(lock, [&] { return stop_ || rings_ > 0; });
            if (stop_) return;
            rings_ = 0;
            for (const auto *bell : bells_)
                bell->signal();
        }
    }

    std::mutex mutex_;
    std::condition_variable asked_;
    std::set<const portico::Notifier *> bells_;
    int rings_ = 0;
    bool stop_ = false;
    std::thread thread_;
};

class Bell final : public portico::BasicStreamHandler<Ringer> {
    void handle() override {
        const auto first = stream().read_line();
        if (!first) return;
        if (*first == "ring\n") {
            context().ask();
            stream().write_all("asked\n");
            return;
        }
        portico::Notifier bell(stream().host_api());
        context().add(bell);
        try {
            stream().write_all("ready\n");
            for (;;) {
                const portico::Wakeup woke = stream().wait_readable_or(bell, portico::forever);
                if (woke.notified) stream().write_all("woken\n");
                if (woke.readable && !stream().read_line()) break;
            }
        } catch (...) {
            context().remove(bell);
            throw;
        }
        context().remove(bell);
    }
};

} // namespace

PORTICO_PLUGIN("doorbell", "1.0.0", reg) {
    reg.stream<Bell>("bell");
}
