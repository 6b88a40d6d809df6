// FlipPlugin.h — a test's own plugin folder holding the flip test plugin as
// flip.so, build A (it answers "A <line>"), for the reload tests that replace
// it with build B ("B <line>") while the host serves it.
#pragma once

#include "harness/Paths.h"
#include "harness/TempDir.h"

#include <filesystem>

namespace portico::test {

struct FlipDir {
    TempDir dir;
    std::filesystem::path plugins = dir.subdir("plugins");
    std::filesystem::path installed = plugins / "flip.so";

    FlipDir() { std::filesystem::copy_file(test_plugin("flip_a"), installed); }
};

} // namespace portico::test
