// AdminHost.h — a portico process with the admin server on, for the admin
// tests: writes the YAML (services, admin block, logging), starts the host,
// and reads the admin port from its "admin listening on" line.
#pragma once

#include "harness/HarnessError.h"
#include "harness/HttpClient.h"
#include "harness/PorticoProcess.h"
#include "harness/TempDir.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace portico::test {

struct AdminServiceSpec {
    std::string name;
    std::string handler;
    std::string extra; // more YAML keys for the entry, each line "    key: value\n"
};

struct AdminHostSpec {
    std::filesystem::path plugin_dir;
    std::vector<AdminServiceSpec> services;
    std::string admin_listen = "127.0.0.1:0";
    std::string token;       // admin.token; empty: none in the file
    std::string admin_extra; // more keys of the admin block, each line "  key: value\n"
    std::string logging_format = "text";
    std::string shutdown_timeout = "5s";

    std::string yaml() const {
        std::string out = "plugins:\n  dir: \"" + plugin_dir.string() + "\"\n  watch: false\nservices:\n";
        for (const auto &s : services)
            out += "  - name: " + s.name + "\n    listen: 127.0.0.1:0\n    handler: " + s.handler + "\n" + s.extra;
        out += "admin:\n  listen: \"" + admin_listen + "\"\n";
        if (!token.empty()) out += "  token: \"" + token + "\"\n";
        out += admin_extra;
        out += "logging: {level: information, format: " + logging_format + "}\n";
        out += "shutdown_timeout: " + shutdown_timeout + "\n";
        return out;
    }
};

// Starts the host and waits until it is ready and its admin server listens.
class AdminHost {
public:
    AdminHost(const TempDir &dir, const AdminHostSpec &spec)
        : process_(std::make_unique<PorticoProcess>(dir, spec.yaml())) {
        if (!process_->wait_ready())
            throw HarnessError("portico did not become ready; its log:\n" + process_->log_text());
        const auto match = process_->wait_for_log(std::regex(R"(admin listening on (?:\[[^\]]*\]|[0-9.]+):(\d+))"), 5s);
        if (!match) throw HarnessError("no 'admin listening on' line; the log:\n" + process_->log_text());
        admin_port_ = static_cast<std::uint16_t>(std::stoi((*match)[1]));
    }

    PorticoProcess &process() { return *process_; }
    std::uint16_t admin_port() const { return admin_port_; }
    std::uint16_t port(const std::string &service) const { return process_->port(service); }

    HttpResponse get(const std::string &target, const std::string &token = {}) const {
        return http_get(admin_port_, target, token);
    }
    HttpResponse post(const std::string &target, const std::string &token = {}) const {
        return http_post(admin_port_, target, token);
    }

private:
    std::unique_ptr<PorticoProcess> process_;
    std::uint16_t admin_port_ = 0;
};

} // namespace portico::test
