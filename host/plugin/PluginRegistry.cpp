// PluginRegistry.cpp — loads run one at a time under load_mutex_ (dlopen and a
// plugin's init may be slow); readers take mutex_ only to copy a shared_ptr.
// Versions handed out carry a deleter that passes them to the Unloader, so
// whoever drops the last reference never runs dlclose itself.
#include "plugin/PluginRegistry.h"

#include "plugin/PluginLoader.h"
#include "plugin/Unloader.h"

#include <Poco/Logger.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <stdexcept>
#include <system_error>

namespace portico::host {
namespace {

Poco::Logger &logger() {
    return Poco::Logger::get("portico.plugins");
}

std::string shadow_prefix(pid_t pid) {
    return "portico-" + std::to_string(pid) + "-";
}

// The pid in "portico-<pid>-<anything>", or 0.
pid_t shadow_dir_pid(std::string_view name) {
    constexpr std::string_view prefix = "portico-";
    if (!name.starts_with(prefix)) return 0;
    name.remove_prefix(prefix.size());
    pid_t pid = 0;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec != std::errc() || pid <= 0) return 0;
    const std::string_view rest(end, static_cast<size_t>(name.data() + name.size() - end));
    if (rest.size() < 2 || rest.front() != '-') return 0;
    return pid;
}

bool process_alive(pid_t pid) {
    return ::kill(pid, 0) == 0 || errno == EPERM;
}

std::string handler_list(const PluginVersion &version) {
    std::string out;
    for (const auto &handler : version.handlers()) {
        if (!out.empty()) out += ", ";
        out += handler.name;
    }
    return out;
}

} // namespace

size_t remove_stale_shadow_dirs(const std::filesystem::path &shadow_parent) {
    size_t removed = 0;
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(shadow_parent, ec)) {
        const std::string name = entry.path().filename().string();
        const pid_t pid = shadow_dir_pid(name);
        if (pid == 0 || pid == ::getpid() || process_alive(pid)) continue;
        // Only real directories we own: never follow a symlink someone planted in /tmp.
        struct stat st {};
        if (::lstat(entry.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::getuid()) continue;
        std::error_code remove_ec;
        std::filesystem::remove_all(entry.path(), remove_ec);
        if (remove_ec) {
            logger().warning("cannot remove stale plugin shadow directory " + entry.path().string() + ": " +
                             remove_ec.message());
            continue;
        }
        logger().information("removed stale plugin shadow directory " + entry.path().string() + " (process " +
                             std::to_string(pid) + " is gone)");
        ++removed;
    }
    return removed;
}

PluginRegistry::PluginRegistry(const portico_host_api *api, const std::filesystem::path &shadow_parent) : api_(api) {
    if (api_ == nullptr) throw std::invalid_argument("PluginRegistry needs a host api table");
    std::filesystem::create_directories(shadow_parent);
    remove_stale_shadow_dirs(shadow_parent);
    std::string dir = (shadow_parent / (shadow_prefix(::getpid()) + "XXXXXX")).string();
    if (::mkdtemp(dir.data()) == nullptr) // mode 0700: the copies are ours alone
        throw std::system_error(errno, std::generic_category(),
                                "cannot create a plugin shadow directory under " + shadow_parent.string());
    shadow_dir_ = std::filesystem::canonical(dir);
    unloader_ = std::make_shared<Unloader>();
    callers_.push_back(policy_.caller);
}

PluginRegistry::~PluginRegistry() {
    decltype(current_) current;
    {
        std::lock_guard lock(mutex_);
        current.swap(current_);
        file_to_plugin_.clear();
    }
    current.clear(); // each version nobody else pins goes to the unloader now
    unloader_->wait_idle();
    // Versions still pinned elsewhere are unloaded by whoever releases them last.
    unloader_->stop();
    std::error_code ignored;
    std::filesystem::remove_all(shadow_dir_, ignored);
}

void PluginRegistry::set_policy(bool strict, std::chrono::milliseconds call_timeout,
                                std::filesystem::path check_program) {
    std::lock_guard lock(mutex_);
    policy_.strict = strict;
    policy_.check_program = std::move(check_program);
    if (call_timeout != policy_.caller.timeout()) {
        policy_.caller = PluginCaller(call_timeout);
        callers_.push_back(policy_.caller);
    }
}

void PluginRegistry::set_described(std::set<std::string> plugins) {
    std::lock_guard lock(mutex_);
    policy_.described = std::move(plugins);
}

LoadOutcome PluginRegistry::refuse(LoadOutcome outcome, std::string error) {
    logger().error(error);
    {
        std::lock_guard lock(mutex_);
        ++stats_.loads_failed;
        stats_.last_error = error;
        stats_.last_error_at = std::chrono::system_clock::now();
    }
    outcome.ok = false;
    outcome.error = std::move(error);
    return outcome;
}

LoadOutcome PluginRegistry::load(const std::filesystem::path &file, const Vetter &vet) {
    LoadOutcome outcome;
    std::error_code ec;
    outcome.file = std::filesystem::absolute(file, ec).lexically_normal();
    if (ec) return refuse(std::move(outcome), file.string() + ": cannot resolve path: " + ec.message());
    const std::string where = outcome.file.string();

    std::lock_guard load_lock(load_mutex_);
    uint64_t generation = 0;
    LoadPolicy policy;
    {
        std::lock_guard lock(mutex_);
        generation = next_generation_++;
        policy = policy_;
    }
    auto loaded = load_plugin_version(outcome.file, shadow_dir_, generation, api_, policy);
    if (!loaded.version) return refuse(std::move(outcome), std::move(loaded.error));
    for (const std::string &warning : loaded.warnings)
        logger().warning(warning);
    auto candidate = std::move(loaded.version);
    const std::string name = candidate->plugin_name();

    // A refused candidate was never published: unloading it here, on the
    // loading thread, cannot pull code from under anyone.
    {
        std::string other;
        {
            std::lock_guard lock(mutex_);
            if (auto it = current_.find(name); it != current_.end() && it->second->source_file() != outcome.file)
                other = it->second->source_file().string();
        }
        if (!other.empty()) {
            candidate.reset();
            return refuse(std::move(outcome), where + ": plugin name '" + name + "' is already provided by " + other);
        }
    }
    if (vet) {
        std::optional<std::string> verdict;
        try {
            verdict = vet(*candidate);
        } catch (const std::exception &e) {
            verdict = std::string("vetting the new version failed: ") + e.what();
        }
        if (verdict) {
            candidate.reset();
            return refuse(std::move(outcome), where + ": " + *verdict);
        }
    }

    unloader_->track(generation);
    std::shared_ptr<PluginVersion> version(candidate.release(),
                                           [unloader = unloader_](PluginVersion *v) { unloader->post(v); });
    std::shared_ptr<PluginVersion> old;
    {
        std::lock_guard lock(mutex_);
        // The version this file provided before, even under another plugin name.
        if (auto f = file_to_plugin_.find(outcome.file); f != file_to_plugin_.end()) {
            if (auto c = current_.find(f->second); c != current_.end() && c->second->source_file() == outcome.file) {
                old = std::move(c->second);
                current_.erase(c);
            }
        }
        current_[name] = version;
        file_to_plugin_[outcome.file] = name;
        std::erase_if(replaced_, [&](const Replaced &r) { return !unloader_->is_live(r.info.generation); });
        if (old)
            replaced_.push_back(Replaced{old, DrainingVersion{old->plugin_name(), old->plugin_version(),
                                                              old->generation(), 0, std::chrono::steady_clock::now()}});
        ++stats_.loads_ok;
    }

    std::string message = "loaded plugin '" + name + "' " + version->plugin_version() + " from " + where +
                          " (generation " + std::to_string(generation) + ", sha256 " + version->sha256() +
                          ", handlers: " + handler_list(*version) + ")";
    if (!version->is_loaded())
        message += "; its init ran in a check process and only mode-process workers load it, never this process";
    if (old) {
        const long users = old.use_count() - 1;
        message += "; generation " + std::to_string(old->generation()) + " drains (" + std::to_string(users) +
                   (users == 1 ? " user)" : " users)");
    }
    logger().information(message);

    outcome.ok = true;
    outcome.version = std::move(version);
    outcome.replaced = std::move(old);
    return outcome;
}

std::shared_ptr<PluginVersion> PluginRegistry::current(std::string_view plugin) const {
    std::lock_guard lock(mutex_);
    const auto it = current_.find(plugin);
    return it == current_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<PluginVersion>> PluginRegistry::current_all() const {
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<PluginVersion>> out;
    out.reserve(current_.size());
    for (const auto &[name, version] : current_)
        out.push_back(version);
    return out;
}

std::vector<DrainingVersion> PluginRegistry::draining() const {
    std::lock_guard lock(mutex_);
    std::vector<DrainingVersion> out;
    for (const auto &r : replaced_) {
        if (!unloader_->is_live(r.info.generation)) continue;
        DrainingVersion info = r.info;
        info.users = r.version.use_count(); // 0 while the unloader is at it
        out.push_back(std::move(info));
    }
    return out;
}

RegistryStats PluginRegistry::stats() const {
    RegistryStats out;
    {
        std::lock_guard lock(mutex_);
        out = stats_;
    }
    out.unloads = unloader_->unloads();
    {
        std::lock_guard lock(mutex_);
        for (const PluginCaller &caller : callers_)
            out.stuck_calls += caller.stuck();
    }
    out.unload_leaks = unloader_->leaks();
    return out;
}

bool PluginRegistry::wait_drained(std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<uint64_t> generations;
    {
        std::lock_guard lock(mutex_);
        for (const auto &r : replaced_)
            generations.push_back(r.info.generation);
    }
    return unloader_->wait_gone(generations, deadline);
}

} // namespace portico::host
