// Paths.h — where the build put the binary and the plugins the tests use.
// The only file that reads the PORTICO_* macros set by tests/CMakeLists.txt.
#pragma once

#include <filesystem>
#include <string_view>

namespace portico::test {

inline std::filesystem::path portico_binary() { return PORTICO_BINARY; }

// A plugin we ship (echo, upper, threadname): <build>/plugins/NAME.so
inline std::filesystem::path shipped_plugin(std::string_view name) {
    return std::filesystem::path(PORTICO_PLUGIN_DIR) / (std::string(name) + ".so");
}

// A plugin that exists only to test the host (bad_magic, throwing, slow, …).
inline std::filesystem::path test_plugin(std::string_view name) {
    return std::filesystem::path(PORTICO_TEST_PLUGIN_DIR) / (std::string(name) + ".so");
}

} // namespace portico::test
