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
#include "config/DefaultConfigPath.h"
#include "net/HostApi.h"
#include "net/InheritedSockets.h"
#include "plugin/CrashReport.h"
#include "plugin/PluginCheck.h"

#include <Poco/Logger.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
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

const char *const usage_text = "usage: portico [--config FILE] [--check | --once]\n"
                               "       portico status [--config FILE] [--json]\n"
                               "       portico reload [plugins|config|all] [--config FILE]\n"
                               "       portico upgrade [--config FILE]\n"
                               "       portico --version | --help\n"
                               "\n"
                               "Runs the network services described in FILE, each served by a handler\n"
                               "from a plugin (.so) in the config's plugins.dir.\n"
                               "\n"
                               "  -c, --config FILE  the YAML config to use (default: $PORTICO_CONFIG, else\n"
                               "                     the installed one, named below; every command)\n"
                               "      --check        validate the config and load the plugins, print OK or\n"
                               "                     the errors (file:line:column), exit 0 or 2; serve nothing\n"
                               "      --once         every service serves one connection (or datagram), then\n"
                               "                     takes no more; exit 0 once each has served its one\n"
                               "                     (socketserver's handle_request())\n"
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
                               "shutdown_timeout); SIGHUP re-reads the config (applying the difference)\n"
                               "and reloads plugins whose files changed, like `portico reload`; SIGUSR2\n"
                               "upgrades, as `portico upgrade` does.\n"
                               "Sockets passed by systemd (LISTEN_FDS) are served instead of bound.\n";

struct Options {
    std::string config;
    std::optional<portico::host::DefaultConfig> default_config; // set when no --config was given
    bool check = false;
    bool once = false;
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
        } else if (arg == "--once") {
            options.once = true;
        } else if (arg == "--version") {
            options.version = true;
        } else if (arg == "--help" || arg == "-h") {
            options.help = true;
        } else {
            std::cerr << "portico: unknown option '" << arg << "'\n" << usage_text;
            return std::nullopt;
        }
    }
    if (options.config.empty()) {
        options.default_config = portico::host::default_config();
        options.config = options.default_config->path;
    }
    return options;
}

// Every problem that keeps the config from running, one line each in the
// same "portico: FILE:LINE:COL: key: message" form, then one summary line.
int report_problems(const Options &options, const std::vector<std::string> &problems) {
    std::ostringstream text;
    for (const std::string &problem : problems)
        text << "portico: " << problem << "\n";
    text << "portico: " << options.config << ": " << problems.size() << " error(s); "
         << (options.check ? "the config cannot run" : "nothing was started") << "\n";
    if (options.default_config)
        text << "portico: " << portico::host::default_config_hint(*options.default_config) << "\n";
    std::cerr << text.str();
    // An upgrade's successor that cannot start tells its predecessor why, so
    // the `portico upgrade` that started it can say so.
    portico::host::report_to_predecessor(text.str());
    return exit_usage;
}

// --check prints OK or the errors: info lines would only bury them.
portico::host::LoggingConfig logging_for(const Options &options, portico::host::LoggingConfig logging) {
    if (!options.check) return logging;
    for (const char *chatty : {"trace", "debug", "information", "notice"})
        if (logging.level == chatty) logging.level = "warning";
    return logging;
}

// A stop signal that arrived while the host was starting: honoured between
// start steps, since the signal loop does not run yet.
bool stop_requested_during_start(const portico::host::SignalWaiter &signals, Poco::Logger &log) {
    if (!signals.stop_pending()) return false;
    log.notice("stop signal received while starting; exiting before serving");
    return true;
}

// The path this binary was started from, resolved now: an upgrade starts
// whatever file is at that path then (/proc/self/exe would name the old,
// replaced file). Empty when it cannot be read.
std::filesystem::path started_binary() {
    std::error_code error;
    auto path = std::filesystem::read_symlink("/proc/self/exe", error);
    return error ? std::filesystem::path() : path;
}

// --once counts one connection per service in this process; mode process
// admits in each worker, so several could each take "the one".
void once_problems(const portico::host::Config &config, std::vector<std::string> &problems) {
    for (const portico::host::ServiceConfig &service : config.services)
        if (service.mode == portico::host::ServiceMode::process)
            problems.push_back(service.pos.to_string() + ": service '" + service.name +
                               "': --once serves one connection in the portico process itself, and mode process "
                               "serves in workers; run this service in mode threads, single or events for --once");
}

int serve(const Options &options, const portico::host::SignalWaiter &signals, std::vector<std::string> args) {
    using namespace portico::host;
    // First, before anything opens a descriptor or starts a process.
    const bool successor = started_by_upgrade();
    InheritedSockets passed = InheritedSockets::from_environment();
    Config config;
    std::vector<std::string> problems;
    try {
        std::vector<ConfigIssue> issues;
        config = load_config_file(options.config, issues);
        for (const ConfigIssue &issue : issues)
            problems.push_back(issue.to_string());
    } catch (const ConfigError &e) {
        for (const ConfigIssue &issue : e.issues())
            problems.push_back(issue.to_string());
        return report_problems(options, problems);
    }
    try {
        setup_logging(logging_for(options, config.logging));
    } catch (const std::exception &e) {
        problems.push_back(options.config + ": logging: " + e.what());
    }

    Poco::Logger &host_log = Poco::Logger::get("portico.host");
    if (!options.check)
        host_log.information("portico %s (pid %d) starting%s", std::string(PORTICO_BINARY_VERSION),
                             static_cast<int>(::getpid()),
                             std::string(successor ? ", started by an upgrade with its predecessor's sockets" : ""));
    if (stop_requested_during_start(signals, host_log)) return exit_ok;
    raise_open_files_limit(host_log);
    if (problems.empty()) warn_about_connection_limits(config, host_log);
    if (options.once) once_problems(config, problems);

    Host host(std::move(config));
    // Declared after the host: destroyed first, while everything its
    // requests read is alive. It keeps answering while sessions drain.
    std::unique_ptr<AdminServer> admin;
    const auto open_admin = [&] {
        const AdminConfig admin_config = host.config().admin;
        if (!admin_config.listen) return;
        std::optional<Poco::Net::ServerSocket> admin_socket;
        if (const auto fd = passed.claim(kAdminSocketName, *admin_config.listen, true,
                                         admin_config.listen_pos.to_string() + ": admin.listen"))
            admin_socket = server_socket_from_fd(*fd);
        // A predecessor's socket file is this process's to remove
        // now; a socket unit's stays systemd's.
        const bool owns_file = !admin_socket || successor;
        admin = std::make_unique<AdminServer>(host, admin_config, std::move(admin_socket), owns_file);
        admin->start();
    };
    // Before the plugins load, so /ready answers 503 with the reason while
    // the host starts. An upgrade's successor shares the admin socket with
    // its predecessor, which still serves: it answers once it is ready.
    if (problems.empty() && !options.check && !successor) {
        try {
            open_admin();
        } catch (const std::exception &e) {
            problems.push_back(e.what());
            return report_problems(options, problems);
        }
    }
    if (options.once) host.serve_once();
    // Handlers and TLS files are checked even when some keys are wrong, so
    // one run lists every problem; without plugins.dir there is nothing to load.
    if (!host.config().plugins.dir.empty()) {
        try {
            host.load();
        } catch (const StartupError &e) {
            std::istringstream lines(e.what());
            for (std::string line; std::getline(lines, line);)
                problems.push_back(line);
        }
    }
    if (!problems.empty()) return report_problems(options, problems);
    if (options.check) {
        std::cout << "OK: " << options.config << ": " << host.config().services.size() << " service(s), "
                  << host.registry().current_all().size() << " plugin(s)\n";
        return exit_ok;
    }
    if (stop_requested_during_start(signals, host_log)) return exit_ok;
    try {
        host.start(successor ? std::function<void()>(open_admin) : std::function<void()>(), &passed);
    } catch (const StartupError &e) {
        std::istringstream lines(e.what());
        for (std::string line; std::getline(lines, line);)
            problems.push_back(line);
        return report_problems(options, problems);
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
    // shutdown() holds /ready at 503 first, with its reason, and keeps
    // accepting for drain_delay before it stops the services.
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
    // Before any plugin code can run: a crash in it is then reported on stderr.
    portico::host::install_crash_report();

    if (argc > 1 && portico::host::is_check_plugin_command(argv[1]))
        portico::host::run_check_plugin_command(argc, argv, portico::host::host_api());
    if (argc > 1 && portico::host::is_worker_command(argv[1])) return portico::host::run_worker(argc, argv, signals);
    if (argc > 1 && portico::host::is_admin_command(argv[1]))
        return portico::host::run_admin_command(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);

    const auto options = parse_options(argc, argv);
    if (!options) return exit_usage;
    if (options->help) {
        std::cout << usage_text << "\nInstalled config: " << portico::host::installed_config_path() << "\n";
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
