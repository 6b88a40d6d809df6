// PluginFiles.cpp
#include "harness/PluginFiles.h"

#include "harness/HarnessError.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

namespace portico::test {
namespace fs = std::filesystem;
namespace {

void write_all(int fd, const char *data, std::size_t size, const fs::path &target) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw HarnessError("write " + target.string() + ": " + std::strerror(errno));
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

int open_truncating(const fs::path &target) {
    const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw HarnessError("open " + target.string() + ": " + std::strerror(errno));
    return fd;
}

} // namespace

std::chrono::steady_clock::time_point replace_by_rename(const fs::path &source, const fs::path &target) {
    const fs::path temp = target.parent_path() / ("." + target.filename().string() + ".incoming");
    fs::copy_file(source, temp, fs::copy_options::overwrite_existing);
    const auto at = std::chrono::steady_clock::now();
    fs::rename(temp, target);
    return at;
}

void overwrite_in_place(const fs::path &target, std::string_view bytes) {
    const int fd = open_truncating(target);
    write_all(fd, bytes.data(), bytes.size(), target);
    ::close(fd);
}

void overwrite_slowly(const fs::path &source, const fs::path &target, std::size_t chunks, Millis pause) {
    const std::string bytes = read_bytes(source);
    const int fd = open_truncating(target);
    const std::size_t step = (bytes.size() + chunks - 1) / chunks;
    for (std::size_t off = 0; off < bytes.size(); off += step) {
        if (off > 0) std::this_thread::sleep_for(pause);
        write_all(fd, bytes.data() + off, std::min(step, bytes.size() - off), target);
    }
    ::close(fd);
}

std::string read_bytes(const fs::path &file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw HarnessError("cannot read " + file.string());
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::vector<std::string> mapped_shadow_copies(pid_t pid, std::string_view stem) {
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    if (!maps) throw HarnessError("cannot read /proc/" + std::to_string(pid) + "/maps");
    const std::regex shadow("/" + std::string(stem) + R"(\.\d+\.so$)");
    std::set<std::string> found;
    for (std::string line; std::getline(maps, line);) {
        const auto slash = line.find('/');
        if (slash == std::string::npos) continue;
        std::string path = line.substr(slash);
        constexpr std::string_view deleted = " (deleted)";
        if (path.ends_with(deleted)) path.resize(path.size() - deleted.size());
        if (std::regex_search(path, shadow)) found.insert(path);
    }
    return {found.begin(), found.end()};
}

std::string wait_one_shadow_copy(pid_t pid, std::string_view stem, Millis timeout) {
    std::vector<std::string> mapped;
    if (wait_until(
            [&] {
                mapped = mapped_shadow_copies(pid, stem);
                return mapped.size() == 1;
            },
            timeout, 50ms))
        return "";
    std::string shown;
    for (const auto &m : mapped)
        shown += "\n  " + m;
    return shown;
}

} // namespace portico::test
