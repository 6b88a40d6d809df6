// AdminCommand.cpp — the admin client: Poco HTTPClientSession to the address
// in the config (a wildcard listen address is reached over loopback).
#include "admin/AdminCommand.h"

#include "admin/AdminAuth.h"
#include "config/ConfigLoader.h"
#include "config/DefaultConfigPath.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>

#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

namespace portico::host {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

const char *const admin_usage = "usage: portico status [--config FILE] [--json]\n"
                                "       portico reload [plugins|config|all] [--config FILE]\n"
                                "       portico upgrade [--config FILE]\n"
                                "       portico status|reload|upgrade --help\n"
                                "\n"
                                "Talk to the running host's admin server named by admin.listen in FILE\n"
                                "(default: $PORTICO_CONFIG, else the installed config that\n"
                                "`portico --help` names). The token is admin.token, else\n"
                                "$PORTICO_ADMIN_TOKEN.\n";

struct AdminArgs {
    std::string command;
    std::string config;
    std::optional<DefaultConfig> default_config; // set when no --config was given
    std::string scope = "all";
    bool json = false;
    bool help = false;
};

std::optional<AdminArgs> parse(const std::vector<std::string> &args, std::ostream &err) {
    AdminArgs out;
    out.command = args.at(0);
    bool scope_seen = false;
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string &arg = args[i];
        if (arg == "--config" || arg == "-c") {
            if (i + 1 >= args.size()) {
                err << "portico " << out.command << ": " << arg << " needs a file name\n" << admin_usage;
                return std::nullopt;
            }
            out.config = args[++i];
        } else if (arg.starts_with("--config=")) {
            out.config = arg.substr(9);
        } else if (arg == "--help" || arg == "-h") {
            out.help = true;
        } else if (arg == "--json" && out.command == "status") {
            out.json = true;
        } else if (out.command == "reload" && !scope_seen && (arg == "plugins" || arg == "config" || arg == "all")) {
            out.scope = arg;
            scope_seen = true;
        } else {
            err << "portico " << out.command << ": unexpected argument '" << arg << "'\n" << admin_usage;
            return std::nullopt;
        }
    }
    if (out.config.empty()) {
        out.default_config = default_config();
        out.config = out.default_config->path;
    }
    return out;
}

struct HttpAnswer {
    int status = 0;
    std::string body;
};

class AdminClient {
public:
    AdminClient(const ListenAddress &listen, std::string token) : token_(std::move(token)) {
        if (listen.kind == ListenAddress::Kind::unix_path) {
            Poco::Net::StreamSocket socket;
            socket.connect(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, listen.path));
            session_ = std::make_unique<Poco::Net::HTTPClientSession>(socket);
            return;
        }
        // A wildcard listen address accepts on loopback too.
        std::string host = listen.host;
        if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
        if (host == "::") host = "::1";
        session_ = std::make_unique<Poco::Net::HTTPClientSession>(host, listen.port);
    }

    HttpAnswer call(const std::string &method, const std::string &path) {
        session_->setTimeout(Poco::Timespan(60, 0)); // a config reload may rebind services
        Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
        if (!token_.empty()) request.set("Authorization", "Bearer " + token_);
        request.setContentLength(0);
        session_->sendRequest(request);
        Poco::Net::HTTPResponse response;
        std::istream &in = session_->receiveResponse(response);
        HttpAnswer answer;
        answer.status = static_cast<int>(response.getStatus());
        Poco::StreamCopier::copyToString(in, answer.body);
        return answer;
    }

private:
    std::string token_;
    std::unique_ptr<Poco::Net::HTTPClientSession> session_;
};

std::string human_bytes(uint64_t n) {
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n);
    int i = 0;
    while (v >= 1024 && i < 4) {
        v /= 1024;
        ++i;
    }
    std::ostringstream out;
    if (i == 0)
        out << n << " B";
    else
        out << std::fixed << std::setprecision(1) << v << " " << units[i];
    return out.str();
}

void print_lines(std::ostream &out, const char *label, const Poco::JSON::Array::Ptr &items) {
    if (!items) return;
    for (std::size_t i = 0; i < items->size(); ++i)
        out << "  " << label << items->getElement<std::string>(i) << "\n";
}

void print_status(const std::string &body, std::ostream &out) {
    const auto root = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
    const auto host = root->getObject("host");
    out << "portico " << host->getValue<std::string>("version") << ", pid " << host->getValue<Poco::Int64>("pid")
        << ", up " << static_cast<long long>(host->getValue<double>("uptime_seconds")) << "s, "
        << (host->getValue<bool>("ready") ? "ready" : "NOT READY") << "\n\n";

    out << std::left << std::setw(16) << "SERVICE" << std::setw(9) << "STATE" << std::setw(24) << "ADDRESS"
        << std::setw(22) << "HANDLER" << std::setw(16) << "VERSION" << std::right << std::setw(7) << "ACTIVE"
        << std::setw(9) << "TOTAL" << std::setw(8) << "REFUSED" << std::setw(7) << "ERRORS" << std::setw(11) << "IN"
        << std::setw(11) << "OUT"
        << "\n";
    const auto services = root->getArray("services");
    for (std::size_t i = 0; i < services->size(); ++i) {
        const auto s = services->getObject(static_cast<unsigned>(i));
        const auto c = s->getObject("connections");
        out << std::left << std::setw(16) << s->getValue<std::string>("name") << std::setw(9)
            << s->getValue<std::string>("state") << std::setw(24) << s->getValue<std::string>("address")
            << std::setw(22) << s->getValue<std::string>("handler") << std::setw(16)
            << (s->getValue<std::string>("plugin_version") + " g" + s->get("generation").toString()) << std::right
            << std::setw(7) << c->get("active").toString() << std::setw(9) << c->get("total").toString() << std::setw(8)
            << c->get("refused").toString() << std::setw(7) << s->get("handler_errors").toString() << std::setw(11)
            << human_bytes(s->getValue<uint64_t>("bytes_in")) << std::setw(11)
            << human_bytes(s->getValue<uint64_t>("bytes_out")) << "\n";
    }

    out << "\nplugins:\n";
    const auto plugins = root->getArray("plugins");
    for (std::size_t i = 0; i < plugins->size(); ++i) {
        const auto p = plugins->getObject(static_cast<unsigned>(i));
        out << "  " << p->getValue<std::string>("name") << " " << p->getValue<std::string>("version") << " (generation "
            << p->get("generation").toString() << ") " << p->getValue<std::string>("file") << "\n    sha256 "
            << p->getValue<std::string>("sha256") << ", loaded " << p->getValue<std::string>("loaded_at") << "\n";
    }
    const auto draining = root->getArray("draining");
    for (std::size_t i = 0; i < draining->size(); ++i) {
        const auto d = draining->getObject(static_cast<unsigned>(i));
        out << "  draining: " << d->getValue<std::string>("plugin") << " " << d->getValue<std::string>("version")
            << " (generation " << d->get("generation").toString() << "), " << d->get("sessions").toString()
            << " open session(s)\n";
    }
    const auto registry = root->getObject("registry");
    if (const std::string error = registry->getValue<std::string>("last_error"); !error.empty())
        out << "  last load error: " << error << "\n";

    const auto history = root->getObject("reloads")->getArray("history");
    if (history->size() > 0) {
        const auto last = history->getObject(0);
        out << "\nlast reload: " << last->getValue<std::string>("time") << " " << last->getValue<std::string>("scope")
            << " (" << last->getValue<std::string>("trigger") << "): " << (last->getValue<bool>("ok") ? "ok" : "ERROR")
            << "\n";
        print_lines(out, "", last->getArray("changes"));
        print_lines(out, "error: ", last->getArray("errors"));
    }
}

int print_reload(const HttpAnswer &answer, std::ostream &out, std::ostream &err) {
    const auto root = Poco::JSON::Parser().parse(answer.body).extract<Poco::JSON::Object::Ptr>();
    const bool ok = root->getValue<bool>("ok");
    const auto changes = root->getArray("changes");
    const auto errors = root->getArray("errors");
    const std::string scope = root->getValue<std::string>("scope");
    if (scope == "upgrade")
        out << "upgrade: " << (ok ? "ok" : "failed") << "\n";
    else
        out << "reload " << scope << ": " << (ok ? "ok" : "refused") << "\n";
    print_lines(out, "", changes);
    print_lines(err, "error: ", errors);
    return ok ? exit_ok : exit_failure;
}

} // namespace

bool is_admin_command(const std::string &word) {
    return word == "status" || word == "reload" || word == "upgrade";
}

int run_admin_command(const std::vector<std::string> &args, std::ostream &out, std::ostream &err) {
    const auto parsed = parse(args, err);
    if (!parsed) return exit_usage;
    const AdminArgs &a = *parsed;
    if (a.help) {
        out << admin_usage;
        return exit_ok;
    }
    const std::string who = "portico " + a.command + ": ";

    Config config;
    try {
        config = load_config_file(a.config);
    } catch (const ConfigError &e) {
        for (const ConfigIssue &issue : e.issues())
            err << who << issue.to_string() << "\n";
        if (a.default_config) err << who << default_config_hint(*a.default_config) << "\n";
        return exit_usage;
    }
    if (!config.admin.listen) {
        err << who << a.config << " has no admin.listen, so there is no admin server to ask; add\n"
            << "  admin:\n    listen: 127.0.0.1:9900\nand restart the host\n";
        return exit_usage;
    }
    const std::string where = config.admin.listen->to_string();
    try {
        AdminClient client(*config.admin.listen, effective_admin_token(config.admin));
        const HttpAnswer answer = a.command == "status"    ? client.call("GET", "/status")
                                  : a.command == "upgrade" ? client.call("POST", "/upgrade")
                                                           : client.call("POST", "/reload?scope=" + a.scope);
        if (answer.status == 401) {
            err << who << "the admin server at " << where << " refused the token: set admin.token in " << a.config
                << " or $" << kAdminTokenEnv << " to the host's token\n";
            return exit_failure;
        }
        if (a.command != "status" && (answer.status == 200 || answer.status == 422))
            return print_reload(answer, out, err);
        if (answer.status != 200) {
            err << who << where << " answered HTTP " << answer.status << ": " << answer.body;
            return exit_failure;
        }
        if (a.json)
            out << answer.body;
        else
            print_status(answer.body, out);
        return exit_ok;
    } catch (const Poco::Exception &e) {
        err << who << "cannot talk to the admin server at " << where << ": " << e.displayText()
            << " (is portico running with " << a.config << "?)\n";
        return exit_failure;
    } catch (const std::exception &e) {
        err << who << "bad answer from the admin server at " << where << ": " << e.what() << "\n";
        return exit_failure;
    }
}

} // namespace portico::host
