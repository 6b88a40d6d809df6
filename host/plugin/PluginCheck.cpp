// PluginCheck.cpp — the host forks only to exec at once (it is multi-threaded:
// between fork and exec just async-signal-safe calls), reads the child's
// verdict from a pipe and reaps exactly its own pid.
#include "plugin/PluginCheck.h"

#include "plugin/PluginLoader.h"

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

std::string signal_name(int sig) {
    if (const char *abbrev = ::sigabbrev_np(sig)) return std::string("SIG") + abbrev;
    return "signal " + std::to_string(sig);
}

[[noreturn]] void exec_check(const char *program, char *const argv[], int verdict_fd, pid_t parent) {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(exit_exec_failed);
    if (::dup2(verdict_fd, STDOUT_FILENO) < 0) ::_exit(exit_exec_failed);
    ::close_range(STDERR_FILENO + 1, ~0U, 0);
    ::execv(program, argv);
    ::_exit(exit_exec_failed);
}

} // namespace

std::optional<std::string> check_plugin_in_child(const std::filesystem::path &program,
                                                 const std::filesystem::path &shadow_copy,
                                                 std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string program_text = program.string();
    std::vector<std::string> args{"portico", std::string(check_plugin_command), shadow_copy.string()};
    std::vector<char *> argv;
    for (std::string &arg : args)
        argv.push_back(arg.data());
    argv.push_back(nullptr);

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        return "cannot start a check process: pipe: " + std::generic_category().message(errno);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int err = errno;
        ::close(fds[0]);
        ::close(fds[1]);
        return "cannot start a check process: fork: " + std::generic_category().message(err);
    }
    if (pid == 0) exec_check(program_text.c_str(), argv.data(), fds[1], parent);
    ::close(fds[1]);

    std::string verdict;
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
        char buf[1024];
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break; // EOF: the child exited or closed stdout
        if (verdict.size() < 4096) verdict.append(buf, static_cast<size_t>(n));
    }
    ::close(fds[0]);

    int status = 0;
    for (;;) {
        const pid_t done = ::waitpid(pid, &status, timed_out ? 0 : WNOHANG);
        if (done == pid) break;
        if (done < 0 && errno == EINTR) continue;
        if (done < 0) return "cannot wait for the check process: " + std::generic_category().message(errno);
        if (timed_out || std::chrono::steady_clock::now() >= deadline) {
            timed_out = true;
            ::kill(pid, SIGKILL);
            continue;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (timed_out)
        return "did not finish loading within plugins.call_timeout (" + std::to_string(timeout.count()) +
               "ms) in a check process (a constructor that never returns?); killed it";
    if (WIFSIGNALED(status)) return "crashed while loading (" + signal_name(WTERMSIG(status)) + ") in a check process";
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    while (!verdict.empty() && (verdict.back() == '\n' || verdict.back() == '\r'))
        verdict.pop_back();
    if (code == 0) return std::nullopt;
    if (code == exit_refused && !verdict.empty()) return verdict;
    if (code == exit_exec_failed)
        return "cannot run the check process " + program_text + " (exec failed); is the portico binary still there?";
    return "the check process exited with status " + std::to_string(code) + (verdict.empty() ? "" : ": " + verdict);
}

bool is_check_plugin_command(std::string_view first_arg) {
    return first_arg == check_plugin_command;
}

void run_check_plugin_command(int argc, char **argv) {
    if (argc != 3) {
        std::fputs("usage: portico __check-plugin FILE (used by the host itself)\n", stderr);
        std::_Exit(exit_usage);
    }
    const std::string problem = probe_plugin_copy(argv[2]);
    if (!problem.empty()) std::fputs((problem + "\n").c_str(), stdout);
    std::fflush(stdout);
    // Leave without closing the library or removing the copy: both belong to the host.
    std::_Exit(problem.empty() ? 0 : exit_refused);
}

} // namespace portico::host
