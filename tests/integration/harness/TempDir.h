// TempDir.h — a fresh directory under $TMPDIR, removed with everything in it
// when the object goes away. Tests put configs and plugin copies here.
#pragma once

#include <filesystem>
#include <string_view>

namespace portico::test {

class TempDir {
  public:
    explicit TempDir(std::string_view prefix = "portico-it");
    ~TempDir();
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;

    const std::filesystem::path &path() const { return path_; }
    std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

    // Writes `contents` to path()/name (parents created) and returns its path.
    std::filesystem::path write_file(std::string_view name, std::string_view contents) const;
    // Copies `source` into path()/name (default: the source's file name).
    std::filesystem::path copy_in(const std::filesystem::path &source, std::string_view name = {}) const;
    // A subdirectory, created if needed.
    std::filesystem::path subdir(std::string_view name) const;

  private:
    std::filesystem::path path_;
};

} // namespace portico::test
