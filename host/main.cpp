// main.cpp — the `portico` command line: parse flags, load and check the
// config, then hand over to Host until a stop signal.
#include "admin/AdminCommand.h"
#include "admin/AdminServer.h"
#include "app/Host.h"
#include "app/Logging.h"
#include "app/ResourceLimits.h"
#include "app/SignalWaiter.h"
#include "app/Worker.h"
#include "config/ConfigLoader.h"
#include "config/DefaultConfigPath.h"
#include "plugin/PluginCheck.h"

#include <Poco/Logger.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 2; // bad flags, bad config, cannot start

const char *const usage_text = "usage: portico [--config FILE] [--check]\n"
                               "       portico status [--config FILE] [--json]\n"
                               "       portico reload [plugins|config|all] [--config FILE]\n"
                               "       portico --version | --help\n"
                               "\n"
                               "Runs the network services described in FILE, each served by a handler\n"
                               "from a plugin (.so) in the config's plugins.dir.\n"
                               "\n"
                               "  -c, --config FILE  the YAML config to use (default: $PORTICO_CONFIG, else\n"
                               "                     the installed one, named below; every command)\n"
                               "      --check        validate the config and load the plugins, print OK or\n"
                               "                     the errors (file:line:column), exit 0 or 2; serve nothing\n"
                               "      --version      print the version and the plugin ABI version\n"
                               "  -h, --help         this text\n"
                               "\n"
                               "  status             ask the running host (admin.listen in FILE) for its\n"
                               "                     services, counters, plugin versions and last reload\n"
                               "  reload [SCOPE]     ask it to reload plugins, config or all (default all);\n"
                               "                     the token is admin.token or $PORTICO_ADMIN_TOKEN\n"
                               "\n"
                               "Signals: SIGTERM/SIGINT stop gracefully (open sessions finish until\n"
                               "shutdown_timeout); SIGHUP reloads the config and the plugins whose files\n"
                               "changed.\n";

struct Options {
    std::string config;
    std::optional<portico::host::DefaultConfig> default_config; // set when no --config was given
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
    if (options.config.empty()) {
        options.default_config = portico::host::default_config();
        options.config = options.default_config->path;
    }
    return options;
}

int serve(const Options &options, const portico::host::SignalWaiter &signals) {
    using namespace portico::host;
    Config config;
    try {
        config = load_config_file(options.config);
    } catch (const ConfigError &e) {
        for (const ConfigIssue &issue : e.issues())
            std::cerr << "portico: " << issue.to_string() << "\n";
        std::cerr << "portico: " << options.config << ": " << e.issues().size() << " error(s); nothing was started\n";
        if (options.default_config) std::cerr << "portico: " << default_config_hint(*options.default_config) << "\n";
        return exit_usage;
    }
    try {
        setup_logging(config.logging);
    } catch (const std::exception &e) {
        std::cerr << "portico: " << options.config << ": logging: " << e.what() << "\n";
        return exit_usage;
    }

    Poco::Logger &host_log = Poco::Logger::get("portico.host");
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
        host.start([&] {
            const AdminConfig admin_config = host.config().admin;
            if (!admin_config.listen) return;
            admin = std::make_unique<AdminServer>(host, admin_config);
            admin->start();
        });
    } catch (const StartupError &e) {
        std::cerr << "portico: cannot start:\n" << e.what() << "\n";
        return exit_usage;
    }
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

    if (argc > 1 && portico::host::is_check_plugin_command(argv[1]))
        portico::host::run_check_plugin_command(argc, argv);
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
        std::cout << "portico " << PORTICO_VERSION << " (plugin ABI " << PORTICO_ABI_VERSION << "." << PORTICO_ABI_MINOR
                  << ")\n";
        return exit_ok;
    }
    try {
        return serve(*options, signals);
    } catch (const std::exception &e) {
        Poco::Logger::get("portico").fatal("unexpected error: %s", std::string(e.what()));
        return exit_failure;
    }
}
