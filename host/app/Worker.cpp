// Worker.cpp — the child side of `mode: process`: parse the config text the
// master handed over, load the one plugin version it named through a
// registry of our own (shadow copy, checks, unload as usual), and serve the
// inherited listening socket with an ordinary ThreadsService or EventService
// (`engine:`), TLS included (the master's SIGHUP means "re-read the
// certificate files"), counting into the segment the master shares with it.
// Across a plugin reload it imports the state the old worker of its slot
// exported before it serves, and exports its own when the master asks.
#include "app/Worker.h"

#include "app/Logging.h"
#include "app/SignalWaiter.h"
#include "config/ConfigLoader.h"
#include "net/HostApi.h"
#include "plugin/PluginRegistry.h"
#include "service/EventService.h"
#include "service/HandlerBinding.h"
#include "service/SharedAdmission.h"
#include "service/SharedCounters.h"
#include "service/StateHandoff.h"
#include "service/ThreadsService.h"
#include "service/WorkerSpawn.h"

#include <Poco/Logger.h>
#include <Poco/Net/ServerSocketImpl.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

#include <sys/prctl.h>
#include <unistd.h>

namespace portico::host {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_cannot_start = 2;

struct WorkerOptions {
    std::string service;
    std::string config_file;
    std::string plugin_file;
    int limits_slot = -1;
};

std::optional<WorkerOptions> parse(int argc, char **argv) {
    WorkerOptions options;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view flag = argv[i];
        if (flag == kWorkerFlag)
            options.service = argv[i + 1];
        else if (flag == "--config")
            options.config_file = argv[i + 1];
        else if (flag == "--plugin")
            options.plugin_file = argv[i + 1];
        else if (flag == kWorkerLimitsSlotFlag)
            options.limits_slot = std::atoi(argv[i + 1]);
        else
            return std::nullopt;
    }
    if (argc % 2 == 0 || options.service.empty() || options.config_file.empty() || options.plugin_file.empty() ||
        options.limits_slot < 0)
        return std::nullopt;
    return options;
}

std::string read_config_snapshot() {
    std::string text;
    char buf[16 * 1024];
    for (off_t at = 0;;) {
        const ssize_t n = ::pread(kWorkerConfigFd, buf, sizeof buf, at);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            throw std::runtime_error("cannot read the config from descriptor " + std::to_string(kWorkerConfigFd));
        if (n == 0) break;
        text.append(buf, static_cast<std::size_t>(n));
        at += n;
    }
    ::close(kWorkerConfigFd);
    return text;
}

// Poco 1.11 has no public way to wrap a descriptor we already own; its
// protected constructors are there for subclasses like these.
class InheritedServerSocketImpl : public Poco::Net::ServerSocketImpl {
public:
    explicit InheritedServerSocketImpl(poco_socket_t fd) { reset(fd); }
};

class InheritedServerSocket : public Poco::Net::ServerSocket {
public:
    explicit InheritedServerSocket(poco_socket_t fd) : ServerSocket(new InheritedServerSocketImpl(fd), true) {}
};

std::filesystem::path shadow_parent() {
    const char *tmp = std::getenv("TMPDIR");
    return tmp && *tmp ? std::filesystem::path(tmp) : std::filesystem::path("/tmp");
}

// A certificate reload the master validated (ProcessService::reload_tls):
// new connections of this worker get the files' new content, open ones keep
// theirs. A file changed again since the master looked and now unusable
// leaves the current certificate serving, as in the master.
void reload_certificate(StreamService &service, Poco::Logger &log) {
    try {
        if (const std::string change = service.reload_tls(); !change.empty())
            log.information("worker %d: %s", static_cast<int>(::getpid()), change);
    } catch (const std::exception &e) {
        log.error("worker %d of service '%s': tls: %s; the previous certificate keeps serving",
                  static_cast<int>(::getpid()), service.name(), std::string(e.what()));
    }
}

// Waits for SIGTERM/SIGINT from the master; SIGHUP from it is a certificate
// reload (plugin and config reloads replace the worker instead). If the
// master is gone, there is no one left to ask us to stop: stop now.
void wait_for_stop(const SignalWaiter &signals, pid_t master, StreamService &service, Poco::Logger &log) {
    for (;;) {
        const auto signal = signals.wait(std::chrono::milliseconds(500));
        if (signal == HostSignal::stop || ::getppid() != master) return;
        if (signal == HostSignal::reload) reload_certificate(service, log);
    }
}

std::unique_ptr<StreamService> make_engine(const ServiceConfig &svc, std::shared_ptr<ServiceHandle> handle,
                                           std::shared_ptr<HandlerBinding> binding) {
    if (svc.engine == WorkerEngine::events)
        return std::make_unique<EventService>(svc, std::move(handle), std::move(binding));
    return std::make_unique<ThreadsService>(svc, std::move(handle), std::move(binding));
}

// Sessions end on their own; the master sends SIGKILL at its deadline
// (shutdown_timeout, drain_timeout). Only an orphaned worker bounds its own
// wait, by shutdown_timeout. False if some session would not end.
bool drain(StreamService &service, pid_t master, Millis orphan_grace) {
    const auto started = Clock::now();
    while (!service.wait_sessions(Clock::now() + std::chrono::milliseconds(200))) {
        if (::getppid() == master || Clock::now() - started < orphan_grace) continue;
        service.close_sessions();
        return service.wait_sessions(Clock::now() + std::chrono::seconds(5));
    }
    return true;
}

// Opens the handler and, after a plugin reload, imports what the old worker
// of this slot exported. A hand-off that cannot be used is logged and the
// worker starts fresh: the reload already happened, refusing it here would
// only leave the slot without a worker.
std::shared_ptr<HandlerBinding> open_binding(const std::shared_ptr<PluginVersion> &version, const ServiceConfig &svc,
                                             const std::shared_ptr<ServiceHandle> &handle, Poco::Logger &log) {
    const int pid = static_cast<int>(::getpid());
    std::optional<std::string> handed;
    try {
        handed = read_handed_state(kWorkerStateFd);
    } catch (const std::exception &e) {
        log.error("worker %d of service '%s': %s; starting fresh", pid, svc.name, std::string(e.what()));
    }
    std::shared_ptr<HandlerBinding> binding = HandlerBinding::open(version, svc.handler, handle);
    if (!handed) return binding;
    const HandlerBinding::StateStep step = binding->import_state(*handed);
    using Result = HandlerBinding::StateStep::Result;
    if (step.result == Result::ok)
        log.information("worker %d of service '%s' imported the state of the worker it replaces (%z bytes)", pid,
                        svc.name, handed->size());
    else if (step.result == Result::stuck)
        log.error("worker %d: %s: state_import did not return within plugins.call_timeout (%Ldms); the hand-off is "
                  "abandoned and this worker serves on without it",
                  pid, binding->describe(), static_cast<Poco::Int64>(version->caller().timeout().count()));
    else if (step.result == Result::failed) {
        log.error("worker %d: %s: state_import failed (status %d); this worker starts fresh", pid, binding->describe(),
                  step.status);
        // Whatever the failed import left behind is closed, not served.
        binding.reset();
        binding = HandlerBinding::open(version, svc.handler, handle);
    }
    return binding;
}

// What this worker hands the next one when the master asks (its plugin is
// being replaced): the handler's state_export, under plugins.call_timeout.
ExportOutcome export_for_successor(const HandlerBinding &binding) {
    HandlerBinding::StateStep step = binding.export_state();
    ExportOutcome outcome;
    using Result = HandlerBinding::StateStep::Result;
    if (step.result == Result::ok)
        outcome.bytes = std::move(step.bytes);
    else if (step.result == Result::failed)
        outcome.problem = binding.describe() + ": state_export failed (status " + std::to_string(step.status) + ")";
    else if (step.result == Result::stuck)
        outcome.problem = binding.describe() + ": state_export did not return within plugins.call_timeout (" +
                          std::to_string(binding.version().caller().timeout().count()) +
                          "ms); its thread is left running";
    return outcome;
}

int serve(const WorkerOptions &options, const SignalWaiter &signals, pid_t master) {
    const Config config = load_config_text(read_config_snapshot(), options.config_file);
    const auto found = std::find_if(config.services.begin(), config.services.end(),
                                    [&](const ServiceConfig &s) { return s.name == options.service; });
    if (found == config.services.end())
        throw std::runtime_error("no service '" + options.service + "' in " + options.config_file);
    const ServiceConfig &svc = *found;
    setup_logging(config.logging);
    Poco::Logger &log = Poco::Logger::get("portico.worker");

    // Declared before everything that holds a plugin version: it goes last.
    PluginRegistry registry(host_api(), shadow_parent());
    // The master already ran this file through a check process.
    registry.set_policy(config.plugins.strict, config.plugins.call_timeout, {});
    const LoadOutcome loaded = registry.load(options.plugin_file);
    if (!loaded.ok) throw std::runtime_error(loaded.error);
    if (loaded.version->plugin_name() != svc.plugin)
        throw std::runtime_error(options.plugin_file + " is plugin '" + loaded.version->plugin_name() + "', not '" +
                                 svc.plugin + "'");
    // Counted straight into the master's segment: what this worker did is
    // seen by /metrics while it runs and kept when it dies, even by SIGKILL.
    SharedCounters shared = SharedCounters::attach(kWorkerCountersFd);
    // Declared before the service, whose Admission counts in it.
    const std::unique_ptr<SharedAdmission> limits = SharedAdmission::attach(kWorkerLimitsFd, options.limits_slot);
    auto handle = std::make_shared<ServiceHandle>(svc.name, svc.settings);
    handle->shared_counters = &shared.counters();
    // Replaced before it got this far (a reload right after a spawn): serving
    // now would hand new connections to the old version.
    if (signals.wait(std::chrono::milliseconds(0)) == HostSignal::stop) return exit_ok;
    {
        const std::shared_ptr<HandlerBinding> binding = open_binding(loaded.version, svc, handle, log);
        const std::unique_ptr<StreamService> service = make_engine(svc, handle, binding);
        service->admission().use_shared(*limits);
        service->adopt_listener(InheritedServerSocket(kWorkerListenFd), Service::ListenerOwner::another_process);
        service->start();
        log.information("worker %d of service '%s' serving (plugin %s %s, engine %s)", static_cast<int>(::getpid()),
                        svc.name, svc.plugin, loaded.version->plugin_version(),
                        std::string(svc.engine == WorkerEngine::events ? "events" : "threads"));
        // Stopped (and joined) before the binding it exports from goes away.
        const StateResponder responder(kWorkerControlFd, [&binding] { return export_for_successor(*binding); });

        wait_for_stop(signals, master, *service, log);
        handle->stopping = true;
        service->stop_accepting();
        log.information("worker %d of service '%s' stopped accepting; %Ld session(s) finishing",
                        static_cast<int>(::getpid()), svc.name,
                        static_cast<Poco::Int64>(service->counters().active.load()));
        if (!drain(*service, master, config.shutdown_timeout)) {
            // A handler ignores its closed socket: leave without unwinding into it.
            std::cerr.flush();
            std::_Exit(exit_failure);
        }
    }
    return exit_ok;
}

} // namespace

bool is_worker_command(std::string_view first_arg) {
    return first_arg == kWorkerFlag;
}

int run_worker(int argc, char **argv, const SignalWaiter &signals) {
    const pid_t master = ::getppid();
    const auto options = parse(argc, argv);
    if (!options) {
        std::cerr << "portico: --worker is started by portico itself for services with mode: process\n";
        return exit_cannot_start;
    }
    const std::string comm = "pw:" + options->service;
    ::prctl(PR_SET_NAME, comm.substr(0, 15).c_str());
    try {
        return serve(*options, signals, master);
    } catch (const std::exception &e) {
        Poco::Logger::get("portico.worker")
            .error("worker %d of service '%s' cannot start: %s", static_cast<int>(::getpid()), options->service,
                   std::string(e.what()));
        return exit_cannot_start;
    }
}

} // namespace portico::host
