// MappingCheck.cpp — parses /proc/self/maps: "start-end perms offset dev inode   path".
#include "plugin/MappingCheck.h"

#include <fstream>
#include <string_view>

namespace portico::host {
namespace {

// The path column of one maps line, or "" for anonymous mappings.
std::string_view path_column(std::string_view line) {
    for (int field = 0; field < 5; ++field) {
        const auto start = line.find_first_not_of(' ');
        if (start == std::string_view::npos) return {};
        const auto end = line.find(' ', start);
        if (end == std::string_view::npos) return {};
        line.remove_prefix(end);
    }
    const auto start = line.find_first_not_of(' ');
    if (start == std::string_view::npos) return {};
    line.remove_prefix(start);
    constexpr std::string_view deleted = " (deleted)";
    if (line.ends_with(deleted)) line.remove_suffix(deleted.size());
    return line;
}

} // namespace

std::set<std::string> mapped_files() {
    std::set<std::string> files;
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        const auto path = path_column(line);
        if (path.starts_with('/')) files.emplace(path);
    }
    return files;
}

bool is_mapped(const std::filesystem::path &file) {
    const std::string wanted = std::filesystem::absolute(file).lexically_normal().string();
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line))
        if (path_column(line) == wanted) return true;
    return false;
}

} // namespace portico::host
