// PluginManifest.cpp — one fact per line, the free text (version, refusal)
// last on its line and stripped of control characters, so no plugin's text
// can forge a line of its own.
#include "plugin/PluginManifest.h"

#include "plugin/Registrar.h"

#include <charconv>

namespace portico::host {
namespace {

std::string one_line(std::string_view text) {
    std::string out(text);
    for (char &c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return out;
}

bool parse_u32(std::string_view text, uint32_t &out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

// "KIND TRAITS NAME" into `entry`; false when malformed.
bool parse_handler(std::string_view rest, HandlerEntry &entry) {
    const size_t first = rest.find(' ');
    if (first == std::string_view::npos) return false;
    const size_t second = rest.find(' ', first + 1);
    if (second == std::string_view::npos) return false;
    uint32_t kind = 0;
    uint32_t traits = 0;
    if (!parse_u32(rest.substr(0, first), kind) || !parse_u32(rest.substr(first + 1, second - first - 1), traits))
        return false;
    if (kind != PORTICO_HANDLER_STREAM && kind != PORTICO_HANDLER_DATAGRAM) return false;
    entry.name = std::string(rest.substr(second + 1));
    if (!is_valid_name(entry.name)) return false;
    entry.kind = static_cast<portico_handler_kind>(kind);
    entry.desc.size = sizeof entry.desc;
    entry.desc.kind = kind;
    entry.desc.traits = traits;
    return true;
}

} // namespace

std::string manifest_header_lines(std::string_view name, std::string_view version, uint32_t abi_minor) {
    return "plugin " + one_line(name) + "\nversion " + one_line(version) + "\nminor " + std::to_string(abi_minor) +
           "\n";
}

std::string manifest_handler_lines(const std::vector<HandlerEntry> &handlers) {
    std::string out;
    for (const HandlerEntry &handler : handlers)
        out += "handler " + std::to_string(handler.desc.kind) + " " + std::to_string(handler.desc.traits) + " " +
               one_line(handler.name) + "\n";
    return out + "done\n";
}

std::string manifest_refusal_line(std::string_view reason) {
    return "refused " + one_line(reason) + "\n";
}

ManifestReading read_manifest_lines(std::string_view text) {
    ManifestReading reading;
    PluginManifest manifest;
    bool done = false;
    while (!text.empty()) {
        const size_t end = text.find('\n');
        if (end == std::string_view::npos) break; // a line still being written
        const std::string_view line = text.substr(0, end);
        text.remove_prefix(end + 1);
        const size_t space = line.find(' ');
        const std::string_view key = line.substr(0, space);
        const std::string_view rest = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
        if (key == "plugin" && is_valid_name(rest)) {
            reading.name = manifest.name = std::string(rest);
        } else if (key == "version") {
            reading.version = manifest.version = std::string(rest);
        } else if (key == "minor" && parse_u32(rest, manifest.abi_minor)) {
        } else if (line == "init") {
            reading.in_init = true;
        } else if (key == "handler") {
            HandlerEntry entry;
            if (!parse_handler(rest, entry)) {
                reading.problem = "'" + std::string(line) + "'";
                return reading;
            }
            manifest.handlers.push_back(std::move(entry));
        } else if (line == "done") {
            reading.in_init = false;
            done = true;
        } else if (key == "refused") {
            reading.refusal = std::string(rest);
        } else {
            reading.problem = "'" + std::string(line) + "'";
            return reading;
        }
    }
    if (done && !manifest.name.empty() && !manifest.handlers.empty()) reading.manifest = std::move(manifest);
    return reading;
}

} // namespace portico::host
