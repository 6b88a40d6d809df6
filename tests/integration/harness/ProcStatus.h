// ProcStatus.h — the lines of /proc/<pid>/status a test reads about the
// host: resident memory, thread count, which user it runs as; and its
// number of memory mappings (/proc/<pid>/maps).
#pragma once

#include <sys/types.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace portico::test {

// The value after "Field:" in /proc/<pid>/status, trimmed; nullopt if the
// process or the field is gone.
inline std::optional<std::string> proc_status_field(pid_t pid, std::string_view field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    const std::string prefix = std::string(field) + ":";
    for (std::string line; std::getline(in, line);) {
        if (!line.starts_with(prefix)) continue;
        const auto start = line.find_first_not_of(" \t", prefix.size());
        return start == std::string::npos ? std::string() : line.substr(start);
    }
    return std::nullopt;
}

// The first number of the field ("VmRSS: 1234 kB" → 1234; "Uid: 0 0 0 0" → 0), or -1.
inline long long proc_status_number(pid_t pid, std::string_view field) {
    const auto value = proc_status_field(pid, field);
    if (!value) return -1;
    std::istringstream in(*value);
    long long number = -1;
    in >> number;
    return number;
}

inline long long rss_kib(pid_t pid) {
    return proc_status_number(pid, "VmRSS");
}
inline long long thread_count(pid_t pid) {
    return proc_status_number(pid, "Threads");
}
inline long long real_uid(pid_t pid) {
    return proc_status_number(pid, "Uid");
}

// How many memory mappings the process has (lines of /proc/<pid>/maps), or -1.
inline long long mapping_count(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
    if (!in) return -1;
    long long lines = 0;
    for (std::string line; std::getline(in, line);)
        ++lines;
    return lines;
}

} // namespace portico::test
