// ProcessService.cpp — the master side of `mode: process`: one supervisor
// thread per service spawns the workers, reaps them with waitpid(WNOHANG) on
// its own pids (never waitpid(-1): other services have children too), logs
// how each one ended and replaces the ones that should still be running.
//
// Why fork + exec and not fork alone: the master is multi-threaded (pools,
// registry, watcher, admin), and a forked copy keeps only the forking thread,
// with any lock another thread held locked forever. A fresh `portico
// --worker` process loads its own copy of the plugin through its own registry
// and serves the inherited socket with an ordinary ThreadsService or
// EventService.
#include "service/ProcessService.h"

#include "config/ConfigLoader.h"
#include "net/TlsContext.h"
#include "plugin/PluginRegistry.h"
#include "service/WorkerSpawn.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace portico::host {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// How often the supervisor looks for exited workers when nothing wakes it.
constexpr auto kReapInterval = 50ms;
// A worker that ran this long was healthy: its death resets the backoff.
constexpr auto kHealthyAfter = 1s;
// Backoff for workers that die young (a plugin that crashes at start):
// 100 ms, doubling, at most 5 s between spawns. Never a spin.
constexpr auto kFirstBackoff = 100ms;
constexpr auto kMaxBackoff = 5000ms;
// How long an old worker's state export may take beyond plugins.call_timeout
// (the worker's own deadline on the call) before its slot starts fresh.
constexpr auto kHandoffMargin = 2s;
// How often the supervisor looks for an answer while a hand-off is under way.
constexpr auto kHandoffPoll = 5ms;
// After SIGTERM in the destructor, how long workers get before SIGKILL.
constexpr auto kDestructorGrace = 5s;

std::string signal_name(int sig) {
    const char *abbrev = ::sigabbrev_np(sig);
    return abbrev ? std::string("SIG") + abbrev : "unknown signal";
}

std::string read_file(const std::string &file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) throw std::runtime_error("cannot read " + file);
    return text.str();
}

// The workers parse the same text the master did, so every setting (limits,
// handler `config:`, logging) means the same in both. Held in a sealed memfd
// rather than re-read from the file: a respawn hours later must not pick up
// an edit that was never reloaded.
int snapshot_config(const ServiceConfig &cfg) {
    const std::string &file = cfg.pos.file;
    if (file.empty()) throw std::runtime_error("service '" + cfg.name + "': mode process needs a config file");
    const std::string text = read_file(file);
    bool same = false;
    try {
        const Config parsed = load_config_text(text, file);
        same = std::any_of(parsed.services.begin(), parsed.services.end(),
                           [&](const ServiceConfig &s) { return s == cfg; });
    } catch (const ConfigError &) {
        same = false;
    }
    if (!same)
        throw std::runtime_error("service '" + cfg.name + "': " + file +
                                 " changed while the service was starting; reload the config again");
    const int fd = ::memfd_create("portico-config", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "memfd_create");
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = errno;
            ::close(fd);
            throw std::system_error(err, std::generic_category(), "writing the config snapshot");
        }
        done += static_cast<std::size_t>(n);
    }
    ::fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
    return fd;
}

// Where workers keep their plugin shadow copies (as the host does: $TMPDIR).
std::filesystem::path shadow_parent() {
    const char *tmp = std::getenv("TMPDIR");
    return tmp && *tmp ? std::filesystem::path(tmp) : std::filesystem::path("/tmp");
}

std::chrono::milliseconds backoff_for(int quick_failures) {
    if (quick_failures <= 0) return 0ms;
    auto delay = kFirstBackoff;
    for (int i = 1; i < quick_failures && delay < kMaxBackoff; ++i)
        delay *= 2;
    return std::min<std::chrono::milliseconds>(delay, kMaxBackoff);
}

} // namespace

ProcessService::ProcessService(ServiceConfig config, std::shared_ptr<ServiceHandle> handle,
                               std::shared_ptr<HandlerBinding> binding)
    : Service(std::move(config), std::move(handle), std::move(binding)),
      slots_(static_cast<std::size_t>(std::max(this->config().workers, 1))) {}

ProcessService::~ProcessService() {
    stop_accepting();
    if (!wait_sessions(Clock::now() + kDestructorGrace)) close_sessions();
    stop_supervisor();
    if (config_fd_ >= 0) ::close(config_fd_);
}

void ProcessService::start() {
    const ServiceConfig &cfg = config();
    Poco::Net::ServerSocket socket = open_tcp_listener();
    // Every worker polls the one socket and the kernel hands each connection
    // to one of them; non-blocking, so the losers' accept() returns at once
    // instead of blocking a worker that then could not stop.
    socket.setBlocking(false);
    listen_fd_ = socket.impl()->sockfd();
    config_fd_ = snapshot_config(cfg);
    // The host checked the files before binding (Host.cpp); this is what
    // the first workers will load, for reload_tls() to compare against.
    if (cfg.tls) tls_fingerprint_ = TlsContext::read_fingerprint(*cfg.tls);
    // Room for old workers still draining after reloads next to the new ones.
    limits_ = SharedAdmission::create(cfg, 4 * cfg.workers + 4);
    supervisor_ = std::thread([this] { supervise(); });
}

void ProcessService::supervise() {
    std::unique_lock lock(mutex_);
    for (;;) {
        reap_locked();
        if (quit_ && workers_.empty()) return;
        if (!stopping_) {
            const std::shared_ptr<HandlerBinding> current = binding();
            if (rebind_) {
                rebind_ = false;
                quick_failures_ = 0; // a new version deserves a prompt start
                next_spawn_ = {};
            }
            spawn_missing_locked(current);
            retire_stale_locked(current);
        }
        // An old worker's answer is not signalled: look for it often.
        changed_.wait_for(lock, handoffs_.empty() ? kReapInterval : kHandoffPoll);
    }
}

void ProcessService::spawn_missing_locked(const std::shared_ptr<HandlerBinding> &current) {
    for (int slot = 0; slot < static_cast<int>(slots_.size()); ++slot) {
        if (slot_served_locked(current, slot)) continue;
        if (Clock::now() < next_spawn_) return;
        std::unique_ptr<UniqueFd> state;
        if (!handoff_ready_locked(current, slot, state)) continue;
        const std::optional<int> limits_slot = limits_->claim_slot();
        if (!limits_slot) {
            if (state) handed_[slot] = std::move(state);
            next_spawn_ = Clock::now() + kFirstBackoff * 10;
            handle()->logger.error("service '%s': cannot start a worker: every admission slot is held by a worker "
                                   "still draining from earlier reloads; retrying when one exits",
                                   name());
            return;
        }
        WorkerLaunch launch;
        launch.service = name();
        launch.config_file = config().pos.file;
        launch.plugin_file = current->version().shadow_file();
        launch.listen_fd = listen_fd_;
        launch.config_fd = config_fd_;
        launch.limits_fd = limits_->fd();
        launch.limits_slot = *limits_slot;
        launch.state_fd = state ? state->get() : -1;
        try {
            auto counts = std::make_unique<SharedCounters>(SharedCounters::create());
            launch.counters_fd = counts->fd();
            ControlSockets control = make_control_sockets();
            launch.control_fd = control.worker->get();
            const pid_t pid = spawn_worker(launch);
            Worker worker;
            worker.pid = pid;
            worker.binding = current;
            worker.started = Clock::now();
            worker.slot = slot;
            worker.limits_slot = *limits_slot;
            worker.counts = std::move(counts);
            worker.control = std::move(control.master);
            workers_.push_back(std::move(worker));
            ++slots_[static_cast<std::size_t>(slot)].spawned;
            ++counters().workers_spawned;
            handle()->logger.information("worker %d of service '%s' started (plugin %s %s, generation %Lu)",
                                         static_cast<int>(pid), name(), current->version().plugin_name(),
                                         current->version().plugin_version(),
                                         static_cast<Poco::UInt64>(current->version().generation()));
        } catch (const std::exception &e) {
            limits_->release_slot(*limits_slot);
            if (state) handed_[slot] = std::move(state);
            ++quick_failures_;
            next_spawn_ = Clock::now() + backoff_for(quick_failures_);
            handle()->logger.error("service '%s': cannot start a worker: %s; retrying in %Ldms", name(),
                                   std::string(e.what()),
                                   static_cast<Poco::Int64>(backoff_for(quick_failures_).count()));
            return;
        }
    }
}

bool ProcessService::handoff_ready_locked(const std::shared_ptr<HandlerBinding> &current, int slot,
                                          std::unique_ptr<UniqueFd> &state) {
    if (const auto kept = handed_.find(slot); kept != handed_.end()) {
        state = std::move(kept->second);
        handed_.erase(kept);
        return true;
    }
    if (const auto asked = handoffs_.find(slot); asked != handoffs_.end()) {
        std::optional<HandoffReply> reply = asked->second->poll();
        if (!reply) return false;
        const int from = static_cast<int>(asked->second->from());
        handoffs_.erase(asked);
        if (!reply->problem.empty())
            handle()->logger.error("service '%s': worker %d could not hand its state over: %s; the new worker of "
                                   "slot %d starts fresh",
                                   name(), from, reply->problem, slot);
        else if (reply->state)
            handle()->logger.information("service '%s': worker %d handed its state (%z bytes) to the new worker of "
                                         "slot %d",
                                         name(), from, reply->bytes, slot);
        state = std::move(reply->state);
        return true;
    }
    // The worker a plugin reload replaces in this slot, still serving. None
    // (the first start, a respawn after a crash): the new one starts fresh.
    const auto old = std::find_if(workers_.begin(), workers_.end(), [&](const Worker &w) {
        return w.slot == slot && w.binding != current && !w.terminating && !w.killed && w.control != nullptr;
    });
    if (old == workers_.end()) return true;
    const auto wait = old->binding->version().caller().timeout() + kHandoffMargin;
    handoffs_[slot] = std::make_unique<StateRequest>(std::move(old->control), old->pid, slot, wait);
    return false;
}

// After a plugin reload the new workers are already accepting (same socket),
// so the old ones can stop at once and finish their sessions.
void ProcessService::retire_stale_locked(const std::shared_ptr<HandlerBinding> &current) {
    for (Worker &w : workers_) {
        if (w.binding == current || w.terminating) continue;
        // Still exporting its state for its successor: it stops once that
        // one has started.
        if (std::any_of(handoffs_.begin(), handoffs_.end(),
                        [&](const auto &asked) { return asked.second->from() == w.pid; }))
            continue;
        w.terminating = true;
        ::kill(w.pid, SIGTERM);
        handle()->logger.information("worker %d of service '%s' draining (plugin version %s replaced)",
                                     static_cast<int>(w.pid), name(), w.binding->version().plugin_version());
    }
}

void ProcessService::reap_locked() {
    for (auto it = workers_.begin(); it != workers_.end();) {
        int status = 0;
        const pid_t pid = ::waitpid(it->pid, &status, WNOHANG);
        if (pid == 0 || (pid < 0 && errno == EINTR)) {
            ++it;
            continue;
        }
        if (pid < 0) status = 0; // ECHILD: someone else reaped it; it is gone either way
        // Its last figures stay in the segment whatever killed it: keep
        // them, so the service's and the slot's counts never go backwards.
        CounterSnapshot last = CounterSnapshot::of(it->counts->counters());
        last.active = 0;
        slots_[static_cast<std::size_t>(it->slot)].gone += last;
        on_exit_locked(*it, status);
        // A worker that died without closing its sessions never released
        // their admission: take its share back, or the service would refuse
        // forever what it no longer serves.
        if (const std::uint32_t held = limits_->release_slot(it->limits_slot); held > 0)
            handle()->logger.information("service '%s': %u connection(s) worker %d held freed for new clients", name(),
                                         static_cast<unsigned>(held), static_cast<int>(it->pid));
        it = workers_.erase(it);
        changed_.notify_all();
    }
}

void ProcessService::on_exit_locked(const Worker &worker, int status) {
    Poco::Logger &log = handle()->logger;
    const int pid = static_cast<int>(worker.pid);
    const bool current = !stopping_ && worker.binding == binding();
    const bool asked = worker.terminating || worker.killed || stopping_;
    const bool young = Clock::now() - worker.started < kHealthyAfter;

    std::string how;
    bool failed = false;
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        how = "killed by signal " + std::to_string(sig) + " (" + signal_name(sig) + ")";
        failed = !(worker.killed && sig == SIGKILL);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        how = "exited with status " + std::to_string(WEXITSTATUS(status));
        failed = true;
    } else {
        how = "exited";
        failed = !asked;
    }
    if (!failed) {
        log.information("worker %d of service '%s' %s", pid, name(), how);
        return;
    }
    ++counters().worker_crashes;
    // A worker that died of a signal could not remove its plugin shadow copy.
    remove_stale_shadow_dirs(shadow_parent());
    // What it was running: a crash in the plugin (its service_open, a
    // handler) shows up here, and the version says which build to look at.
    const PluginVersion &version = worker.binding->version();
    const std::string plugin = "plugin " + version.plugin_name() + " " + version.plugin_version() + ", generation " +
                               std::to_string(version.generation());
    const std::string dead = "worker " + std::to_string(pid) + " of service '" + name() + "' " + how;
    if (!current) {
        log.error(dead + "; not respawned (" +
                  (stopping_ ? "the service is stopping" : "it served a replaced plugin version") + "; " + plugin +
                  ")");
        return;
    }
    quick_failures_ = young ? quick_failures_ + 1 : 0;
    const auto delay = backoff_for(quick_failures_);
    next_spawn_ = Clock::now() + delay;
    if (delay == 0ms)
        log.error(dead + "; respawning (" + plugin + ")");
    else
        log.error(dead + "; respawning in " + std::to_string(delay.count()) + "ms (" + std::to_string(quick_failures_) +
                  " worker(s) in a row died within " +
                  std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(kHealthyAfter).count()) +
                  "ms of starting; " + plugin + ")");
}

std::string ProcessService::reload_tls() {
    if (!config().tls) return {};
    const TlsConfig &files = *config().tls;
    const std::string on_disk = TlsContext::read_fingerprint(files);
    {
        std::lock_guard lock(mutex_);
        if (on_disk == tls_fingerprint_) return {};
    }
    // Built here only to be checked: a worker must never be told to load
    // files that cannot be used (it would keep its old certificate and say
    // so, but the reload's caller would not hear of it).
    const std::shared_ptr<const TlsContext> fresh = TlsContext::load(files);
    if (const std::string expired = fresh->expiry_warning(name(), files.cert); !expired.empty())
        handle()->logger.warning(expired);
    std::size_t told = 0;
    {
        std::lock_guard lock(mutex_);
        tls_fingerprint_ = fresh->fingerprint();
        for (const Worker &w : workers_) {
            if (w.terminating || w.killed) continue;
            ::kill(w.pid, SIGHUP);
            ++told;
        }
    }
    return "service '" + name() + "': new TLS certificate " + fresh->subject() + " (expires " + fresh->expires_text() +
           ") for new connections of its " + std::to_string(told) +
           " worker(s) and the ones started later; open ones keep the old one";
}

void ProcessService::binding_changed() {
    std::lock_guard lock(mutex_);
    rebind_ = true;
    changed_.notify_all();
}

void ProcessService::signal_all_locked(int signal) {
    for (Worker &w : workers_) {
        if (signal == SIGKILL) w.killed = true;
        if (signal == SIGTERM) {
            if (w.terminating) continue;
            w.terminating = true;
        }
        ::kill(w.pid, signal);
    }
}

void ProcessService::stop_accepting() {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    signal_all_locked(SIGTERM);
    if (listener_handed_over() || listen_fd_ < 0) return;
    // The workers hold copies of the socket, so closing ours alone would
    // leave it listening until the last worker has stopped. shutdown(2)
    // acts on the socket itself: it stops listening for every process now.
    ::shutdown(listen_fd_, SHUT_RDWR);
    close_listener();
}

bool ProcessService::wait_sessions(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return changed_.wait_until(lock, deadline, [&] { return workers_.empty(); });
}

void ProcessService::close_sessions() {
    std::lock_guard lock(mutex_);
    signal_all_locked(SIGKILL);
}

std::size_t ProcessService::close_sessions_replaced_by(std::chrono::steady_clock::time_point replaced_by) {
    std::lock_guard lock(mutex_);
    std::size_t killed = 0;
    for (Worker &w : workers_) {
        if (w.binding->replaced_at() > replaced_by || w.killed) continue;
        w.killed = true;
        ::kill(w.pid, SIGKILL);
        ++killed;
    }
    return killed;
}

// Whether a worker of the current version holds slot. A respawn takes the
// place of the worker it replaces, and so do the workers of a new plugin
// version (the old ones draining in it still add to it).
bool ProcessService::slot_served_locked(const std::shared_ptr<HandlerBinding> &current, int slot) const {
    return std::any_of(workers_.begin(), workers_.end(),
                       [&](const Worker &w) { return w.slot == slot && w.binding == current && !w.terminating; });
}

std::vector<WorkerFigures> ProcessService::worker_figures_locked() const {
    std::vector<WorkerFigures> out;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        WorkerFigures f;
        f.slot = static_cast<int>(i);
        f.restarts = slots_[i].spawned > 0 ? slots_[i].spawned - 1 : 0;
        f.counts = slots_[i].gone;
        out.push_back(std::move(f));
    }
    for (const Worker &w : workers_) {
        WorkerFigures &f = out[static_cast<std::size_t>(w.slot)];
        f.counts += CounterSnapshot::of(w.counts->counters());
        if (!w.terminating || f.pid == 0) f.pid = w.pid;
    }
    return out;
}

std::vector<WorkerFigures> ProcessService::worker_figures() const {
    std::lock_guard lock(mutex_);
    return worker_figures_locked();
}

CounterSnapshot ProcessService::figures() const {
    CounterSnapshot total = CounterSnapshot::of(counters());
    std::lock_guard lock(mutex_);
    for (const WorkerFigures &f : worker_figures_locked())
        total += f.counts;
    return total;
}

std::map<uint64_t, std::size_t> ProcessService::sessions_by_generation() {
    std::lock_guard lock(mutex_);
    std::map<uint64_t, std::size_t> sessions;
    for (const Worker &w : workers_) {
        const int64_t active = w.counts->counters().active.load();
        if (active > 0) sessions[w.binding->version().generation()] += static_cast<std::size_t>(active);
    }
    return sessions;
}

void ProcessService::stop_supervisor() {
    if (!supervisor_.joinable()) return;
    {
        std::lock_guard lock(mutex_);
        quit_ = true;
        if (!workers_.empty()) signal_all_locked(SIGKILL); // after the destructor's grace: no more waiting
        changed_.notify_all();
    }
    supervisor_.join();
}

} // namespace portico::host
