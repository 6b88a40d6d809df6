// main.cpp — the `portico` command line: parse flags, load and check the
// config, then hand over to Host until a stop signal.
#include "admin/AdminCommand.h"
#include "admin/AdminServer.h"
#include "app/Host.h"
#include "app/Logging.h"
#include "app/ResourceLimits.h"
#include "app/SignalWaiter.h"
#include "app/Successor.h"
#include "app/Worker.h"
#include "config/ConfigLoader.h"
#include "net/InheritedSockets.h"

#include <Poco/Logger.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

// The version this binary reports; a test build sets its own so that two
// builds can be told apart (tests/integration/upgrade_test.cpp).
#ifndef PORTICO_BINARY_VERSION
#define PORTICO_BINARY_VERSION PORTICO_VERSION
#endif

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 2; // bad flags, bad config, cannot start

const char *const usage_text = "usage: portico [--config FILE] [--check]\n"
                               "       portico status [--config FILE] [--json]\n"
                               "       portico reload [plugins|config|all] [--config FILE]\n"
                               "       portico upgrade [--config FILE]\n"
                               "       portico --version | --help\n"
                               "\n"
                               "Runs the network services described in FILE (default: config/portico.yaml),\n"
                               "each served by a handler from a plugin (.so) in the config's plugins.dir.\n"
                               "\n"
                               "  -c, --config FILE  the YAML config to use\n"
                               "      --check        validate the config and load the plugins, print OK or\n"
                               "                     the errors (file:line:column), exit 0 or 2; serve nothing\n"
                               "      --version      print the version and the plugin ABI version\n"
                               "  -h, --help         this text\n"
                               "\n"
                               "  status             ask the running host (admin.listen in FILE) for its\n"
                               "                     services, counters, plugin versions and last reload\n"
                               "  reload [SCOPE]     ask it to reload plugins, config or all (default all);\n"
                               "                     the token is admin.token or $PORTICO_ADMIN_TOKEN\n"
                               "  upgrade            ask it to start the portico binary now on disk with its\n"
                               "                     sockets; once that one serves, the old one drains and exits\n"
                               "\n"
                               "Signals: SIGTERM/SIGINT stop gracefully (open sessions finish until\n"
                               "shutdown_timeout); SIGHUP reloads the config and plugins whose files changed;\n"
                               "SIGUSR2 upgrades, as `portico upgrade` does.\n"
                               "Sockets passed by systemd (LISTEN_FDS) are served instead of bound.\n";

struct Options {
    std::string config = "config/portico.yaml";
    bool check = false;
    bool version = false;
    bool help = false;
};

// Returns the options, or nullopt after printing what is wrong.
std::optional<Options> parse_options(int argc, char **argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--config" || arg == "-c") {
            if (i + 1 >= argc) {
                std::cerr << "portico: " << arg << " needs a file name\n" << usage_text;
                return std::nullopt;
            }
            options.config = argv[++i];
        } else if (arg.starts_with("--config=")) {
            options.config = std::string(arg.substr(9));
        } else if (arg == "--check") {
            options.check = true;
        } else if (arg == "--version") {
            options.version = true;
        } else if (arg == "--help" || arg == "-h") {
            options.help = true;
        } else {
            std::cerr << "portico: unknown option '" << arg << "'\n" << usage_text;
            return std::nullopt;
        }
    }
    return options;
}

// The path this binary was started from, resolved now: an upgrade starts
// whatever file is at that path then (/proc/self/exe would name the old,
// replaced file). Empty when it cannot be read.
std::filesystem::path started_binary() {
    std::error_code error;
    auto path = std::filesystem::read_symlink("/proc/self/exe", error);
    return error ? std::filesystem::path() : path;
}

int serve(const Options &options, const portico::host::SignalWaiter &signals, std::vector<std::string> args) {
    using namespace portico::host;
    // First, before anything opens a descriptor or starts a process.
    const bool successor = started_by_upgrade();
    InheritedSockets passed = InheritedSockets::from_environment();
    // A successor that cannot start tells its predecessor why, so the
    // `portico upgrade` that started it can say so.
    const auto fail = [&](const std::string &why) {
        std::cerr << why;
        report_to_predecessor(why);
        return exit_usage;
    };
    Config config;
    try {
        config = load_config_file(options.config);
    } catch (const ConfigError &e) {
        std::ostringstream why;
        for (const ConfigIssue &issue : e.issues())
            why << "portico: " << issue.to_string() << "\n";
        why << "portico: " << options.config << ": " << e.issues().size() << " error(s); nothing was started\n";
        return fail(why.str());
    }
    try {
        setup_logging(config.logging);
    } catch (const std::exception &e) {
        return fail("portico: " + options.config + ": logging: " + e.what() + "\n");
    }

    Poco::Logger &host_log = Poco::Logger::get("portico.host");
    host_log.information("portico %s (pid %d) starting%s", std::string(PORTICO_BINARY_VERSION),
                         static_cast<int>(::getpid()),
                         std::string(successor ? ", started by an upgrade with its predecessor's sockets" : ""));
    raise_open_files_limit(host_log);
    warn_about_connection_limits(config, host_log);

    Host host(std::move(config));
    // Declared after the host: destroyed first, while everything its
    // requests read is alive. It keeps answering while sessions drain.
    std::unique_ptr<AdminServer> admin;
    try {
        host.load();
        if (options.check) {
            std::cout << "OK: " << options.config << ": " << host.config().services.size() << " service(s), "
                      << host.registry().current_all().size() << " plugin(s)\n";
            return exit_ok;
        }
        host.start(
            [&] {
                const AdminConfig admin_config = host.config().admin;
                if (!admin_config.listen) return;
                std::optional<Poco::Net::ServerSocket> admin_socket;
                if (const auto fd = passed.claim(kAdminSocketName, *admin_config.listen, true,
                                                 admin_config.listen_pos.to_string() + ": admin.listen"))
                    admin_socket = server_socket_from_fd(*fd);
                admin = std::make_unique<AdminServer>(host, admin_config, std::move(admin_socket));
                admin->start();
            },
            &passed);
    } catch (const StartupError &e) {
        return fail(std::string("portico: cannot start:\n") + e.what() + "\n");
    }
    host.set_upgrade_command(started_binary(), std::move(args));
    if (admin)
        host.add_handover_socket(kAdminSocketName, admin->listening_fd(), [&admin] {
            admin->set_not_ready();
            admin->stop_accepting();
        });
    if (successor)
        report_to_predecessor("");
    else
        host.announce_ready();
    host.run(signals);
    if (admin) admin->set_not_ready();
    if (!host.shutdown()) {
        // A handler ignores its closed socket; waiting longer would hang the
        // operator's stop. Leave without unwinding into plugin code.
        std::cerr.flush();
        std::_Exit(exit_failure);
    }
    return exit_ok;
}

} // namespace

int main(int argc, char **argv) {
    // First: block the signals we wait for, before any thread exists.
    const portico::host::SignalWaiter signals;
    portico::host::setup_default_logging();

    if (argc > 1 && portico::host::is_worker_command(argv[1])) return portico::host::run_worker(argc, argv, signals);
    if (argc > 1 && portico::host::is_admin_command(argv[1]))
        return portico::host::run_admin_command(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);

    const auto options = parse_options(argc, argv);
    if (!options) return exit_usage;
    if (options->help) {
        std::cout << usage_text;
        return exit_ok;
    }
    if (options->version) {
        std::cout << "portico " << PORTICO_BINARY_VERSION << " (plugin ABI " << PORTICO_ABI_VERSION << "."
                  << PORTICO_ABI_MINOR << ")\n";
        return exit_ok;
    }
    try {
        return serve(*options, signals, std::vector<std::string>(argv, argv + argc));
    } catch (const std::exception &e) {
        Poco::Logger::get("portico").fatal("unexpected error: %s", std::string(e.what()));
        return exit_failure;
    }
}
