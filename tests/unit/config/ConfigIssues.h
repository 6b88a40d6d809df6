// ConfigIssues.h — what the config-loading unit tests share: the issues a
// YAML text is refused with, one "file:line:col: ..." string each.
#pragma once

#include "config/ConfigLoader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portico::test {

// The issues load_config_text reports for `yaml` (read as `file`); a test
// failure, and none, when it loads.
inline std::vector<std::string> config_issues(const std::string &yaml, const std::string &file = "t.yaml") {
    try {
        host::load_config_text(yaml, file);
    } catch (const host::ConfigError &e) {
        std::vector<std::string> lines;
        for (const auto &issue : e.issues())
            lines.push_back(issue.to_string());
        return lines;
    }
    ADD_FAILURE() << "config loaded without error:\n" << yaml;
    return {};
}

} // namespace portico::test
