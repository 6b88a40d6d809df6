// PluginFiles.h — putting plugin files in place the ways a deploy (or a
// clumsy operator) does, and seeing which plugin copies a process has mapped.
#pragma once

#include "harness/Deadline.h"

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace portico::test {

// The right way: copy to a temp name in the same folder (not ending in .so,
// so the host ignores it), then rename over `target` in one step. Returns
// the moment just before the rename.
std::chrono::steady_clock::time_point replace_by_rename(const std::filesystem::path &source,
                                                        const std::filesystem::path &target);

// Overwrites `target` in place with `bytes` (O_TRUNC, one write, close): what
// `cp` does.
void overwrite_in_place(const std::filesystem::path &target, std::string_view bytes);

// Overwrites `target` in place with `source`'s bytes in `chunks` writes with
// `pause` between them, keeping the file open until the last one is written.
void overwrite_slowly(const std::filesystem::path &source, const std::filesystem::path &target, std::size_t chunks,
                      Millis pause);

std::string read_bytes(const std::filesystem::path &file);

// Distinct file paths mapped into process `pid` whose name matches
// "<stem>.<digits>.so" (the registry's shadow copies of plugin `stem`),
// with any " (deleted)" suffix removed.
std::vector<std::string> mapped_shadow_copies(pid_t pid, std::string_view stem);

// Waits up to `timeout` until `pid` maps exactly one shadow copy of plugin
// `stem`: every replaced version unloaded. "" then; else the copies still
// mapped, one per line, for the failure message.
std::string wait_one_shadow_copy(pid_t pid, std::string_view stem, Millis timeout);

} // namespace portico::test
