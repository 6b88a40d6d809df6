// ConfigBuilder.h — portico.yaml text for a test, built from the few things
// the test cares about; everything else is left to the host's defaults.
//
//   ConfigBuilder config;
//   config.plugin_dir(plugins.path());
//   config.service("upper", "upper.upper").threads(1, 2);
//   PorticoProcess host(dir, config.yaml());
#pragma once

#include <deque>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace portico::test {

class ServiceSpec {
  public:
    ServiceSpec(std::string name, std::string handler) : name_(std::move(name)), handler_(std::move(handler)) {}

    ServiceSpec &listen(std::string address) { listen_ = std::move(address); return *this; }
    ServiceSpec &threads(int min, int max) { threads_ = {min, max}; return *this; }
    // An entry of the service's `config:` map, handed to the handler.
    ServiceSpec &setting(std::string key, std::string value) {
        settings_.emplace_back(std::move(key), std::move(value));
        return *this;
    }
    // Any other key of the service entry, verbatim: option("max_connections", "4").
    ServiceSpec &option(std::string key, std::string yaml_value) {
        options_.emplace_back(std::move(key), std::move(yaml_value));
        return *this;
    }
    // `mode: events` served by `loops` event-loop threads; `stack` ("64KiB")
    // sizes each connection's fiber, the host's default when empty.
    ServiceSpec &events(int loops, const std::string &stack = {}) {
        option("mode", "events");
        return option("events", "{loops: " + std::to_string(loops) + (stack.empty() ? "" : ", stack: " + stack) + "}");
    }

    void write(std::string &out) const;

  private:
    std::string name_;
    std::string handler_;
    std::string listen_ = "127.0.0.1:0";
    std::optional<std::pair<int, int>> threads_;
    std::vector<std::pair<std::string, std::string>> settings_;
    std::vector<std::pair<std::string, std::string>> options_;
};

class ConfigBuilder {
  public:
    ConfigBuilder &plugin_dir(const std::filesystem::path &dir) { plugin_dir_ = dir; return *this; }
    // Another key of the `plugins:` block, verbatim: plugins_option("drain_timeout", "3s").
    ConfigBuilder &plugins_option(std::string key, std::string yaml_value) {
        plugins_options_.emplace_back(std::move(key), std::move(yaml_value));
        return *this;
    }
    // Adds a service listening on 127.0.0.1:0; the reference stays valid.
    ServiceSpec &service(std::string name, std::string handler) {
        return services_.emplace_back(std::move(name), std::move(handler));
    }
    ConfigBuilder &shutdown_timeout(std::string duration) { shutdown_timeout_ = std::move(duration); return *this; }
    // A top-level block appended verbatim (admin:, logging:, …).
    ConfigBuilder &raw(std::string yaml) { raw_.push_back(std::move(yaml)); return *this; }

    std::string yaml() const;

  private:
    std::filesystem::path plugin_dir_;
    std::vector<std::pair<std::string, std::string>> plugins_options_;
    std::deque<ServiceSpec> services_; // deque: service() hands out references
    std::optional<std::string> shutdown_timeout_;
    std::vector<std::string> raw_;
};

// A YAML double-quoted scalar.
std::string yaml_quote(const std::string &text);

} // namespace portico::test
