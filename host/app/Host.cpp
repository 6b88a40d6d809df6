// Host.cpp — start-up checks, the signal loop, plugin reload and shutdown.
#include "app/Host.h"

#include "app/PluginDirectory.h"
#include "app/SignalWaiter.h"
#include "plugin/HostApi.h"
#include "service/HandlerBinding.h"

#include <Poco/SHA2Engine.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

namespace portico::host {
namespace {

std::filesystem::path shadow_parent() {
    const char *tmp = std::getenv("TMPDIR");
    return tmp && *tmp ? std::filesystem::path(tmp) : std::filesystem::path("/tmp");
}

std::string sha256_of_file(const std::filesystem::path &file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return {};
    Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
    char buf[64 * 1024];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) engine.update(buf, static_cast<unsigned>(in.gcount()));
    return Poco::DigestEngine::digestToHex(engine.digest());
}

std::string join(const std::vector<std::string> &items, const std::string &sep) {
    std::string out;
    for (const auto &item : items) out += (out.empty() ? "" : sep) + item;
    return out;
}

std::string service_key(std::size_t index) { return "services[" + std::to_string(index) + "]"; }

} // namespace

Host::Host(Config config)
    : config_(std::move(config)), log_(Poco::Logger::get("portico.host")),
      registry_(std::make_unique<PluginRegistry>(host_api(), shadow_parent())) {}

Host::~Host() {
    // Services hold bindings that pin plugin versions: they go first.
    {
        std::lock_guard lock(services_mutex_);
        services_.clear();
    }
    registry_.reset();
}

std::vector<std::shared_ptr<Service>> Host::services() const {
    std::lock_guard lock(services_mutex_);
    return services_;
}

void Host::load() {
    const PluginFileList list = list_plugin_files(config_.plugins);
    for (const std::string &problem : list.problems) log_.warning(problem);
    for (const auto &file : list.files) {
        const LoadOutcome outcome = registry_->load(file);
        if (!outcome.ok) log_.warning("plugin refused: %s", outcome.error);
    }
    const std::vector<std::string> problems = handler_problems();
    if (!problems.empty()) throw StartupError(join(problems, "\n"));
}

std::vector<std::string> Host::handler_problems() const {
    std::vector<std::string> problems;
    std::vector<std::string> loaded;
    for (const auto &version : registry_->current_all()) loaded.push_back(version->plugin_name());
    for (std::size_t i = 0; i < config_.services.size(); ++i) {
        const ServiceConfig &svc = config_.services[i];
        const std::string where = svc.handler_pos.to_string() + ": " + service_key(i) + ".handler: ";
        const std::string full = svc.plugin + "." + svc.handler;
        const auto version = registry_->current(svc.plugin);
        if (!version) {
            problems.push_back(where + "no plugin provides handler '" + full + "': plugin '" + svc.plugin +
                               "' is not loaded (loaded plugins: " + (loaded.empty() ? "none" : join(loaded, ", ")) +
                               "; see the plugin errors above, or check plugins.dir " +
                               config_.plugins.dir.string() + ")");
            continue;
        }
        const HandlerEntry *entry = version->find_handler(svc.handler);
        if (!entry) {
            std::vector<std::string> names;
            for (const auto &h : version->handlers()) names.push_back(svc.plugin + "." + h.name);
            problems.push_back(where + "plugin '" + svc.plugin + "' (" + version->source_file().string() +
                               ") has no handler '" + full + "' (it has: " + join(names, ", ") + ")");
            continue;
        }
        const bool tcp = svc.protocol == Protocol::tcp;
        if (tcp && entry->kind != PORTICO_HANDLER_STREAM)
            problems.push_back(where + "handler '" + full + "' handles datagrams and cannot serve protocol tcp");
        if (!tcp && entry->kind != PORTICO_HANDLER_DATAGRAM)
            problems.push_back(where + "handler '" + full + "' handles streams and cannot serve protocol udp");
    }
    return problems;
}

std::shared_ptr<Service> Host::start_service(const ServiceConfig &svc) {
    auto handle = std::make_shared<ServiceHandle>(svc.name, svc.settings);
    auto binding = HandlerBinding::open(registry_->current(svc.plugin), svc.handler, handle);
    std::shared_ptr<Service> service = make_service(svc, handle, std::move(binding));
    service->start();
    log_.information("service '%s' listening on %s (handler %s.%s, plugin version %s)", svc.name,
                     service->bound_address(), svc.plugin, svc.handler,
                     service->binding()->version().plugin_version());
    return service;
}

void Host::start() {
    std::lock_guard control(control_mutex_);
    std::vector<std::string> problems;
    std::vector<std::shared_ptr<Service>> started;
    for (const ServiceConfig &svc : config_.services) {
        try {
            started.push_back(start_service(svc));
        } catch (const std::exception &e) {
            problems.push_back(e.what());
        }
    }
    if (!problems.empty()) throw StartupError(join(problems, "\n"));
    {
        std::lock_guard lock(services_mutex_);
        services_ = std::move(started);
    }
    log_.information("portico ready: %z service(s)", config_.services.size());
}

void Host::run(const SignalWaiter &signals) {
    for (;;) {
        const auto signal = signals.wait(std::chrono::milliseconds(1000));
        if (!signal) continue;
        if (*signal == HostSignal::stop) return;
        log_.information("SIGHUP: reloading changed plugins");
        reload_plugins();
    }
}

PluginRegistry::Vetter Host::vetter_for_bound_handlers() const {
    return [services = services()](const PluginVersion &candidate) -> std::optional<std::string> {
        for (const auto &service : services) {
            const ServiceConfig &svc = service->config();
            if (svc.plugin != candidate.plugin_name()) continue;
            if (candidate.find_handler(svc.handler) == nullptr)
                return "handler '" + svc.plugin + "." + svc.handler + "' that service '" + svc.name +
                       "' is bound to is missing from the new version";
        }
        return std::nullopt;
    };
}

void Host::rebind_services(const std::shared_ptr<PluginVersion> &version, ReloadReport &report) {
    for (const auto &service : services()) {
        const ServiceConfig &svc = service->config();
        if (svc.plugin != version->plugin_name()) continue;
        try {
            const auto previous = service->binding();
            service->set_binding(HandlerBinding::open(version, svc.handler, service->handle(), previous.get()));
            report.changes.push_back("service '" + svc.name + "' now uses " + version->plugin_name() + " " +
                                     version->plugin_version() + " (generation " +
                                     std::to_string(version->generation()) + ")");
            log_.information(report.changes.back());
        } catch (const std::exception &e) {
            report.errors.push_back("service '" + svc.name + "' keeps its previous plugin version: " + e.what());
            log_.error(report.errors.back());
        }
    }
}

ReloadReport Host::reload_plugins() {
    std::lock_guard control(control_mutex_);
    ReloadReport report;
    std::map<std::filesystem::path, std::string> loaded_sha;
    for (const auto &version : registry_->current_all()) loaded_sha[version->source_file()] = version->sha256();
    const PluginFileList list = list_plugin_files(config_.plugins);
    for (const std::string &problem : list.problems) log_.warning(problem);
    for (const auto &file : list.files) {
        const auto known = loaded_sha.find(file);
        if (known != loaded_sha.end() && known->second == sha256_of_file(file)) continue;
        const LoadOutcome outcome = registry_->load(file, vetter_for_bound_handlers());
        if (!outcome.ok) {
            report.errors.push_back("plugin reload refused, previous version keeps serving: " + outcome.error);
            log_.error(report.errors.back());
            continue;
        }
        report.changes.push_back("loaded " + outcome.version->plugin_name() + " " + outcome.version->plugin_version() +
                                 " from " + file.string() + " (generation " +
                                 std::to_string(outcome.version->generation()) + ")");
        rebind_services(outcome.version, report);
    }
    if (report.changes.empty() && report.errors.empty()) report.changes.push_back("no plugin file changed");
    return report;
}

bool Host::shutdown() {
    std::lock_guard control(control_mutex_);
    const std::vector<std::shared_ptr<Service>> services = this->services();
    log_.information("stopping: no new connections; waiting up to %Lds for open sessions",
                     static_cast<Poco::Int64>(config_.shutdown_timeout.count() / 1000));
    for (const auto &service : services) {
        service->handle()->stopping = true;
        service->stop_accepting();
    }
    const auto deadline = std::chrono::steady_clock::now() + config_.shutdown_timeout;
    bool all_ended = true;
    for (const auto &service : services) {
        if (service->wait_sessions(deadline)) continue;
        log_.warning("service '%s': %Ld session(s) still open at shutdown_timeout; closing them", service->name(),
                     static_cast<Poco::Int64>(service->counters().active.load()));
        service->close_sessions();
        if (!service->wait_sessions(std::chrono::steady_clock::now() + std::chrono::seconds(5))) all_ended = false;
    }
    if (all_ended) {
        std::lock_guard lock(services_mutex_);
        services_.clear();
    }
    log_.information(all_ended ? "stopped" : "stopped with sessions that would not end");
    return all_ended;
}

} // namespace portico::host
