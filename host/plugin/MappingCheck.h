// MappingCheck.h — what /proc/self/maps says is mapped: the proof that a
// dlclose'd plugin really left (STB_GNU_UNIQUE symbols silently pin it).
#pragma once

#include <filesystem>
#include <set>
#include <string>

namespace portico::host {

// Paths of every file-backed mapping of this process. A file deleted while
// mapped is listed under its old path (the kernel's " (deleted)" suffix is
// stripped).
std::set<std::string> mapped_files();

// True while any part of `file` (compared as an absolute, lexically normal
// path, deleted or not) is mapped into this process.
bool is_mapped(const std::filesystem::path &file);

} // namespace portico::host
