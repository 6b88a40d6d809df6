// ConfigBuilder.cpp — writing the YAML text.
#include "harness/ConfigBuilder.h"

namespace portico::test {

std::string yaml_quote(const std::string &text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

void ServiceSpec::write(std::string &out) const {
    out += "  - name: " + yaml_quote(name_) + "\n";
    out += "    listen: " + yaml_quote(listen_) + "\n";
    out += "    handler: " + yaml_quote(handler_) + "\n";
    if (threads_)
        out += "    threads: {min: " + std::to_string(threads_->first) + ", max: " + std::to_string(threads_->second) +
               "}\n";
    for (const auto &[key, value] : options_) out += "    " + key + ": " + value + "\n";
    if (!settings_.empty()) {
        out += "    config:\n";
        for (const auto &[key, value] : settings_) out += "      " + key + ": " + yaml_quote(value) + "\n";
    }
}

std::string ConfigBuilder::yaml() const {
    std::string out;
    if (!plugin_dir_.empty()) out += "plugins:\n  dir: " + yaml_quote(plugin_dir_.string()) + "\n";
    for (const auto &[key, value] : plugins_options_) out += "  " + key + ": " + value + "\n";
    out += "services:\n";
    for (const auto &service : services_) service.write(out);
    if (shutdown_timeout_) out += "shutdown_timeout: " + *shutdown_timeout_ + "\n";
    for (const auto &block : raw_) out += block + (block.ends_with('\n') ? "" : "\n");
    return out;
}

} // namespace portico::test
