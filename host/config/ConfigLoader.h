// ConfigLoader.h — reads portico.yaml with yaml-cpp and validates every key,
// reporting each problem with file:line:column and the offending key.
#pragma once

#include "config/Config.h"

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

// Loads and validates a YAML file. Throws ConfigError.
Config load_config_file(const std::filesystem::path &file);
// Same from text; `file` is used for messages and to resolve relative paths.
Config load_config_text(const std::string &yaml, const std::filesystem::path &file);

} // namespace portico::host
