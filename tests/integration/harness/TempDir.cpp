// TempDir.cpp — mkdtemp-backed scratch directories.
#include "harness/TempDir.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <stdlib.h>

namespace portico::test {

namespace fs = std::filesystem;

TempDir::TempDir(std::string_view prefix) {
    std::string pattern = (fs::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr)
        throw std::runtime_error("TempDir: mkdtemp(" + pattern + ") failed: " + std::strerror(errno));
    path_ = buf.data();
}

TempDir::~TempDir() {
    std::error_code ec; // a destructor must not throw; a leftover dir in /tmp is harmless
    fs::remove_all(path_, ec);
}

fs::path TempDir::write_file(std::string_view name, std::string_view contents) const {
    const fs::path file = path_ / name;
    fs::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.close();
    if (!out) throw std::runtime_error("TempDir: cannot write " + file.string());
    return file;
}

fs::path TempDir::copy_in(const fs::path &source, std::string_view name) const {
    const fs::path target = path_ / (name.empty() ? source.filename() : fs::path(name));
    fs::create_directories(target.parent_path());
    std::error_code ec;
    fs::copy_file(source, target, fs::copy_options::overwrite_existing, ec);
    if (ec) throw std::runtime_error("TempDir: cannot copy " + source.string() + " to " + target.string() + ": " + ec.message());
    return target;
}

fs::path TempDir::subdir(std::string_view name) const {
    const fs::path dir = path_ / name;
    fs::create_directories(dir);
    return dir;
}

} // namespace portico::test
