// PluginManifest.h — what a check process tells the master about a plugin it
// ran init for (mode process: the master never loads such a file): the
// plugin's name, version, ABI minor and handlers, as lines of text on a pipe.
#pragma once

#include "plugin/PluginVersion.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::host {

struct PluginManifest {
    std::string name;
    std::string version;
    uint32_t abi_minor = 0;
    // kind and desc.traits set; the descriptor's function pointers stay null
    // (they point into a process that has exited).
    std::vector<HandlerEntry> handlers;
};

// The check process's lines, in order:
//   "plugin NAME" "version TEXT" "minor N"   once the descriptor passed
//   "init"                                   just before init runs
//   "handler KIND TRAITS NAME" …, "done"     once init registered them
//   "refused TEXT"                           instead, when it refused the copy
std::string manifest_header_lines(std::string_view name, std::string_view version, uint32_t abi_minor);
inline constexpr std::string_view manifest_init_line = "init\n";
std::string manifest_handler_lines(const std::vector<HandlerEntry> &handlers);
std::string manifest_refusal_line(std::string_view reason);

// What the lines received so far say.
struct ManifestReading {
    std::optional<PluginManifest> manifest; // set once "done" arrived and every line made sense
    std::string name;                       // from "plugin", "" before it
    std::string version;                    // from "version"
    bool in_init = false;                   // "init" arrived (and "done" did not)
    std::string refusal;                    // from "refused"
    std::string problem;                    // a line that made no sense, quoted
};
ManifestReading read_manifest_lines(std::string_view text);

} // namespace portico::host
