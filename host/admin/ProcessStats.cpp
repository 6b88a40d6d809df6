// ProcessStats.cpp — /proc/self/stat (CPU, memory, threads, start time, in
// the field order of proc(5)), /proc/self/fd and RLIMIT_NOFILE.
#include "admin/ProcessStats.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

namespace portico::host {
namespace {

// Seconds since the epoch at which the machine booted (`btime` of /proc/stat).
double boot_time_seconds() {
    std::ifstream in("/proc/stat");
    std::string key;
    while (in >> key) {
        if (key == "btime") {
            double value = 0;
            in >> value;
            return value;
        }
        in.ignore(1 << 20, '\n');
    }
    return 0;
}

void read_stat(ProcessStats &out) {
    std::ifstream stat("/proc/self/stat");
    std::string text;
    if (!std::getline(stat, text)) return;
    // The command name (field 2) is in parentheses and may hold spaces: parse after the last ')'.
    const auto close = text.rfind(')');
    if (close == std::string::npos) return;
    std::istringstream fields(text.substr(close + 2));
    std::vector<std::string> f; // f[0] is field 3 (state)
    for (std::string field; fields >> field;)
        f.push_back(field);
    if (f.size() < 22) return;
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const long page = ::sysconf(_SC_PAGESIZE);
    out.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;         // utime, stime (fields 14, 15)
    out.threads = std::stoull(f[17]);                                        // field 20
    out.start_time_seconds = boot_time_seconds() + std::stod(f[19]) / ticks; // field 22, ticks after boot
    out.virtual_bytes = std::stoull(f[20]);                                  // field 23
    out.resident_bytes = std::stoull(f[21]) * static_cast<uint64_t>(page);   // field 24, pages
    out.available = true;
}

} // namespace

ProcessStats read_process_stats() {
    ProcessStats out;
    struct rlimit limit {};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) out.max_fds = static_cast<uint64_t>(limit.rlim_cur);
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++out.open_fds;

    try {
        read_stat(out);
    } catch (const std::exception &) {
        out.available = false; // an unreadable /proc: the figures stay 0
    }
    return out;
}

} // namespace portico::host
