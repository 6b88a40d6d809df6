// ProcessService.h — a `mode: process` service: the master binds the
// listening socket and keeps `workers` child processes serving it, each a
// portico worker running one ThreadsService or EventService (`engine:`) on
// the inherited socket, TLS included. A handler
// that crashes takes down only its worker's connections; the master logs the
// signal and starts a new worker (nginx's master/worker, socketserver's
// ForkingMixIn with a pre-forked, supervised pool). Workers count into shared
// memory the master reads, per worker slot and in total, dead workers included.
// On a plugin reload each old worker hands its plugin state, through the
// master, to the new worker of its slot (StateHandoff).
#pragma once

#include "service/Service.h"
#include "service/SharedAdmission.h"
#include "service/SharedCounters.h"
#include "service/StateHandoff.h"

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace portico::host {

class ProcessService : public Service {
public:
    ProcessService(ServiceConfig config, std::shared_ptr<ServiceHandle> handle,
                   std::shared_ptr<HandlerBinding> binding);
    // Stops the workers (SIGTERM, then SIGKILL after 5 s) and reaps them.
    ~ProcessService() override;

    // Binds, snapshots the config text for the workers and starts them.
    void start() override;
    // SIGTERM to every worker: each stops accepting and exits once its own
    // sessions have ended. The listening socket stops listening at once.
    void stop_accepting() override;
    // Waits until every worker has exited.
    bool wait_sessions(std::chrono::steady_clock::time_point deadline) override;
    // SIGKILL to every worker still running.
    void close_sessions() override;
    // SIGKILL to the workers still serving an old plugin version; returns
    // how many workers (not sessions: the master cannot see those) it killed.
    std::size_t close_sessions_replaced_by(std::chrono::steady_clock::time_point replaced_by) override;
    // Checks the tls: files here (a file that cannot be used throws and no
    // worker is disturbed), then sends SIGHUP to every worker: each re-reads
    // them for its new connections. Workers started later read them at start.
    std::string reload_tls() override;
    // Open sessions of the running workers, by the generation each serves.
    std::map<uint64_t, std::size_t> sessions_by_generation() override;
    // The master's own counters plus every worker's, running or gone.
    CounterSnapshot figures() const override;
    std::vector<WorkerFigures> worker_figures() const override;

protected:
    // A plugin reload: start workers on the new version, then stop the old ones.
    void binding_changed() override;

private:
    struct Worker {
        pid_t pid = 0;
        std::shared_ptr<HandlerBinding> binding; // the version it serves; pins its shadow file
        std::chrono::steady_clock::time_point started;
        bool terminating = false;               // we sent SIGTERM: an exit is expected
        bool killed = false;                    // we sent SIGKILL: death by it is expected
        int slot = 0;                           // which of the `workers` places it fills (the `worker` metrics label)
        std::unique_ptr<SharedCounters> counts; // what it counts; read here while it runs, folded in when it dies
        int limits_slot = -1;                   // its slot in limits_, taken back when it is reaped
        std::unique_ptr<UniqueFd> control;      // where it is asked for its state; moved out when asked
    };
    // What the workers that held one slot did, once they are gone.
    struct Slot {
        CounterSnapshot gone; // active is always 0: a dead worker has no sessions
        uint64_t spawned = 0;
    };

    void supervise();
    void reap_locked();
    void on_exit_locked(const Worker &worker, int status);
    void retire_stale_locked(const std::shared_ptr<HandlerBinding> &current);
    void spawn_missing_locked(const std::shared_ptr<HandlerBinding> &current);
    // Whether slot's new worker may start now, with `state` set to what the
    // old worker of that slot handed over (null: it starts fresh). Asks the
    // old worker first, and says no until it answered or gave up.
    bool handoff_ready_locked(const std::shared_ptr<HandlerBinding> &current, int slot,
                              std::unique_ptr<UniqueFd> &state);
    void signal_all_locked(int signal);
    void stop_supervisor();
    bool slot_served_locked(const std::shared_ptr<HandlerBinding> &current, int slot) const;
    std::vector<WorkerFigures> worker_figures_locked() const;

    mutable std::mutex
        mutex_; // guards everything below; waitpid and kill happen under it, so a pid is never reused under us
    std::condition_variable changed_;
    std::vector<Worker> workers_;
    std::vector<Slot> slots_; // one per configured worker
    bool stopping_ = false;   // no more spawns: stop_accepting() was called
    bool quit_ = false;       // the supervisor thread should end once workers_ is empty
    bool rebind_ = false;     // binding_changed() happened; the supervisor replaces old workers
    int quick_failures_ = 0;  // workers in a row that died within kHealthyAfter of their start
    std::chrono::steady_clock::time_point next_spawn_{};
    // Hand-offs under way: old workers asked for their state, by slot.
    std::map<int, std::unique_ptr<StateRequest>> handoffs_;
    // Answers not yet used by a spawn (one that failed retries with it).
    std::map<int, std::unique_ptr<UniqueFd>> handed_;

    int config_fd_ = -1;          // sealed memfd with the config text the workers parse
    int listen_fd_ = -1;          // the listening socket (Service::listener()) the workers inherit
    std::string tls_fingerprint_; // of the tls: files the workers were last told to use
    // The admission counts every worker shares: the limits hold for the service.
    std::unique_ptr<SharedAdmission> limits_;
    // Declared last: it spawns and reaps the workers, so it is the only thread
    // they are tied to (PR_SET_PDEATHSIG follows the spawning thread).
    std::thread supervisor_;
};

} // namespace portico::host
