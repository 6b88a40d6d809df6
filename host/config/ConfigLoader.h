// ConfigLoader.h — reads portico.yaml with yaml-cpp and validates every key,
// reporting each problem with file:line:column and the offending key.
#pragma once

#include "config/Config.h"

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace portico::host {

struct ConfigIssue {
    SourcePos pos;
    std::string key;     // dotted path of the offending key: "services[1].listen"
    std::string message; // what is wrong and what would be right
    // "file:line:col: services[1].listen: <message>"
    std::string to_string() const;
};

// Thrown when a config cannot be used; holds every issue found, in file order.
class ConfigError : public std::runtime_error {
public:
    explicit ConfigError(std::vector<ConfigIssue> issues);
    const std::vector<ConfigIssue> &issues() const { return issues_; }

private:
    std::vector<ConfigIssue> issues_;
};

// A config is a few KiB; yaml-cpp's node tree costs about 14 times the text,
// so a larger file is refused rather than parsed.
inline constexpr std::size_t kMaxConfigBytes = std::size_t{4} << 20;
// About how deep yaml-cpp 0.7 lets lists and maps nest: its parser's guard
// counts 2000 recursions, some four per level.
inline constexpr int kMaxYamlDepth = 500;

// Loads and validates a YAML file. Throws ConfigError.
Config load_config_file(const std::filesystem::path &file);
// The same, but a config with bad keys is returned as far as it could be
// read, its problems in `issues` (so --check can go on to the handlers); a
// file that cannot be read or is not YAML still throws ConfigError.
Config load_config_file(const std::filesystem::path &file, std::vector<ConfigIssue> &issues);
// Same from text; `file` is used for messages and to resolve relative paths.
Config load_config_text(const std::string &yaml, const std::filesystem::path &file);

} // namespace portico::host
