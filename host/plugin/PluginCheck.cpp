// PluginCheck.cpp — the host forks only to exec at once (it is multi-threaded:
// between fork and exec just async-signal-safe calls), reads the child's
// lines from a pipe (fd 3 in the child: a plugin that prints on stdout cannot
// garble them) and reaps exactly its own pid.
#include "plugin/PluginCheck.h"

#include "plugin/PluginLoader.h"
#include "plugin/Registrar.h"
#include "plugin/RunningCode.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace portico::host {
namespace {

constexpr int exit_refused = 1;
constexpr int exit_usage = 2;
constexpr int exit_exec_failed = 127;
constexpr int verdict_fd_in_child = 3;
constexpr size_t max_verdict_bytes = 1 << 20;

std::string signal_name(int sig) {
    if (const char *abbrev = ::sigabbrev_np(sig)) return std::string("SIG") + abbrev;
    return "signal " + std::to_string(sig);
}

[[noreturn]] void exec_check(const char *program, char *const argv[], int verdict_fd, pid_t parent) {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(exit_exec_failed);
    if (verdict_fd == verdict_fd_in_child) {
        if (::fcntl(verdict_fd, F_SETFD, 0) != 0) ::_exit(exit_exec_failed);
    } else if (::dup2(verdict_fd, verdict_fd_in_child) < 0) {
        ::_exit(exit_exec_failed);
    }
    // What the plugin prints goes where the host's own output goes (nowhere
    // when the host has no stderr).
    if (::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        const int null = ::open("/dev/null", O_WRONLY);
        if (null < 0 || ::dup2(null, STDOUT_FILENO) < 0) ::_exit(exit_exec_failed);
    }
    ::close_range(verdict_fd_in_child + 1, ~0U, 0);
    ::execv(program, argv);
    ::_exit(exit_exec_failed);
}

// "plugin 'x' 1.2.0: " once the child named the plugin, else "".
std::string plugin_prefix(const ManifestReading &reading) {
    if (reading.name.empty()) return {};
    return "plugin '" + reading.name + "'" + (reading.version.empty() ? "" : " " + reading.version) + ": ";
}

constexpr const char *master_never_runs_it = "; the master never runs the code of a plugin only mode process uses";

void say(std::string_view text) {
    while (!text.empty()) {
        const ssize_t n = ::write(verdict_fd_in_child, text.data(), text.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) std::_Exit(exit_refused); // the host stopped listening
        text.remove_prefix(static_cast<size_t>(n));
    }
}

} // namespace

CheckOutcome check_plugin_in_child(const std::filesystem::path &program, const std::filesystem::path &shadow_copy,
                                   std::chrono::milliseconds timeout, const std::set<std::string> &init_for) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string program_text = program.string();
    std::vector<std::string> args{"portico", std::string(check_plugin_command), shadow_copy.string()};
    for (const std::string &name : init_for) {
        args.emplace_back("--init-for");
        args.push_back(name);
    }
    std::vector<char *> argv;
    for (std::string &arg : args)
        argv.push_back(arg.data());
    argv.push_back(nullptr);
    const auto refuse = [](std::string why) { return CheckOutcome{std::move(why), std::nullopt}; };

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        return refuse("cannot start a check process: pipe: " + std::generic_category().message(errno));
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int err = errno;
        ::close(fds[0]);
        ::close(fds[1]);
        return refuse("cannot start a check process: fork: " + std::generic_category().message(err));
    }
    if (pid == 0) exec_check(program_text.c_str(), argv.data(), fds[1], parent);
    ::close(fds[1]);

    std::string verdict;
    bool init_deadline = false; // init has a call_timeout of its own, from when it began
    bool timed_out = false;
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            ::kill(pid, SIGKILL);
            break;
        }
        pollfd pfd{fds[0], POLLIN, 0};
        const int rc = ::poll(&pfd, 1, static_cast<int>(left.count()));
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) continue; // the deadline is checked at the top
        char buf[4096];
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break; // EOF: the child exited or closed its end
        if (verdict.size() < max_verdict_bytes) verdict.append(buf, static_cast<size_t>(n));
        // Read only to learn when init begins; the whole text is read once at the end.
        if (!init_deadline && read_manifest_lines(verdict).in_init) {
            init_deadline = true;
            deadline = std::chrono::steady_clock::now() + timeout;
        }
    }
    ::close(fds[0]);

    int status = 0;
    for (;;) {
        const pid_t done = ::waitpid(pid, &status, timed_out ? 0 : WNOHANG);
        if (done == pid) break;
        if (done < 0 && errno == EINTR) continue;
        if (done < 0) return refuse("cannot wait for the check process: " + std::generic_category().message(errno));
        if (timed_out || std::chrono::steady_clock::now() >= deadline) {
            timed_out = true;
            ::kill(pid, SIGKILL);
            continue;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ManifestReading reading = read_manifest_lines(verdict); // its manifest is moved out below
    const std::string who = plugin_prefix(reading);
    if (timed_out && reading.in_init)
        return refuse(who + "init did not return within plugins.call_timeout (" + std::to_string(timeout.count()) +
                      "ms) in a check process; killed it" + master_never_runs_it);
    if (timed_out)
        return refuse("did not finish loading within plugins.call_timeout (" + std::to_string(timeout.count()) +
                      "ms) in a check process (a constructor that never returns?); killed it");
    if (WIFSIGNALED(status) && reading.in_init)
        return refuse(who + "crashed in init (" + signal_name(WTERMSIG(status)) + ") in a check process" +
                      master_never_runs_it);
    if (WIFSIGNALED(status))
        return refuse("crashed while loading (" + signal_name(WTERMSIG(status)) + ") in a check process");
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == exit_exec_failed)
        return refuse("cannot run the check process " + program_text +
                      " (exec failed); is the portico binary still there?");
    if (!reading.problem.empty())
        return refuse("the check process sent a line this host does not understand: " + reading.problem);
    if (code == exit_refused && !reading.refusal.empty()) return refuse(who + reading.refusal);
    if (code != 0)
        return refuse("the check process exited with status " + std::to_string(code) +
                      (reading.refusal.empty() ? "" : ": " + reading.refusal));
    if (reading.in_init) return refuse(who + "the check process exited during init without a verdict");
    return CheckOutcome{std::nullopt, std::move(reading.manifest)};
}

bool is_check_plugin_command(std::string_view first_arg) {
    return first_arg == check_plugin_command;
}

void run_check_plugin_command(int argc, char **argv, const portico_host_api *api) {
    std::set<std::string> init_for;
    bool usage_ok = argc >= 3 && (argc - 3) % 2 == 0;
    for (int i = 3; usage_ok && i + 1 < argc; i += 2) {
        if (std::string_view(argv[i]) != "--init-for") usage_ok = false;
        init_for.insert(argv[i + 1]);
    }
    if (!usage_ok) {
        std::fputs("usage: portico __check-plugin FILE [--init-for NAME]... (used by the host itself)\n", stderr);
        std::_Exit(exit_usage);
    }
    const portico_plugin_desc *desc = nullptr;
    // Leave without closing the library or removing the copy: both belong to the host.
    if (const std::string problem = probe_plugin_copy(argv[2], &desc); !problem.empty()) {
        say(manifest_refusal_line(problem));
        std::_Exit(exit_refused);
    }
    const std::string name(desc->name, strnlen(desc->name, max_name_length + 1));
    const std::string version = desc->version ? std::string(desc->version, strnlen(desc->version, 256)) : "";
    say(manifest_header_lines(name, version, desc->abi_minor));
    if (init_for.count(name) == 0) std::_Exit(0);

    say(manifest_init_line);
    portico_registrar registrar;
    registrar.plugin_file = argv[2];
    registrar.plugin_minor = desc->abi_minor;
    // A crash in init is then reported as the plugin's, not the host's.
    RunningCode in_init;
    const std::string what = "check process, plugin " + name + " version " + version + ", init";
    in_init.length = what.copy(in_init.text, sizeof in_init.text);
    exchange_running_code(&in_init);
    int rc = PORTICO_ERR_HANDLER;
    try {
        rc = desc->init(api, &registrar);
    } catch (...) {
        registrar_fail(&registrar, "init threw an exception");
    }
    if (const std::string refused = init_refusal(name, registrar, rc); !refused.empty()) {
        say(manifest_refusal_line(refused));
        std::_Exit(exit_refused);
    }
    say(manifest_handler_lines(registrar.handlers));
    std::_Exit(0);
}

} // namespace portico::host
