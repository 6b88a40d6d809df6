// ResourceLimits.cpp — getrlimit/setrlimit and /proc/sys/vm/max_map_count
// against the services' max_connections.
#include "app/ResourceLimits.h"

#include "event/StackPool.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include <sys/resource.h>

namespace portico::host {
namespace {

// Descriptors the host uses besides connections: listeners, plugin files,
// epoll and event fds, the admin server, logs.
constexpr long long kOwnDescriptors = 256;

long long open_files_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return -1;
    return static_cast<long long>(limit.rlim_cur);
}

long long max_map_count() {
    std::ifstream in("/proc/sys/vm/max_map_count");
    long long value = -1;
    in >> value;
    return in ? value : -1;
}

} // namespace

void raise_open_files_limit(Poco::Logger &log) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
    const rlim_t before = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
        log.warning("cannot raise the open-files limit from %Lu: %s", static_cast<Poco::UInt64>(before),
                    std::string(std::strerror(errno)));
        return;
    }
    log.debug("open-files limit raised from %Lu to %Lu", static_cast<Poco::UInt64>(before),
              static_cast<Poco::UInt64>(limit.rlim_cur));
}

void warn_about_connection_limits(const Config &config, Poco::Logger &log) {
    long long connections = 0;
    long long fiber_connections = 0;
    for (const ServiceConfig &service : config.services) {
        if (service.protocol != Protocol::tcp) continue;
        const long long per_process = service.mode == ServiceMode::process ? 0 : service.max_connections;
        connections += per_process;
        if (service.mode == ServiceMode::events) fiber_connections += service.max_connections;
    }
    const long long files = open_files_limit();
    if (files > 0 && connections + kOwnDescriptors > files)
        log.warning("the services' max_connections add up to %Ld, but this process may open %Ld files: connections "
                    "beyond about %Ld will be refused (out of descriptors); raise the hard limit (ulimit -Hn, "
                    "LimitNOFILE= in a systemd unit) or lower max_connections",
                    static_cast<Poco::Int64>(connections), static_cast<Poco::Int64>(files),
                    static_cast<Poco::Int64>(files - kOwnDescriptors));
    // Fiber stacks cost no mapping each where guard markers exist
    // (StackPool); otherwise two: the stack and its PROT_NONE guard.
    if (StackPool::guard_markers()) return;
    const long long maps = max_map_count();
    if (maps > 0 && 2 * fiber_connections + 1000 > maps)
        log.warning("mode events services allow %Ld connections, each with a fiber stack of two memory mappings on "
                    "this kernel (Linux before 6.13 has no guard markers), but vm.max_map_count is %Ld: connections "
                    "beyond about %Ld will be refused; raise it (sysctl vm.max_map_count=%Ld), run on Linux 6.13 or "
                    "later, or lower max_connections",
                    static_cast<Poco::Int64>(fiber_connections), static_cast<Poco::Int64>(maps),
                    static_cast<Poco::Int64>((maps - 1000) / 2),
                    static_cast<Poco::Int64>(2 * fiber_connections + 65530));
}

} // namespace portico::host
