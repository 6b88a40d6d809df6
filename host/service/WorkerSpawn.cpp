// WorkerSpawn.cpp — fork + exec of a worker. The master is multi-threaded,
// so between fork and exec the child may only make async-signal-safe calls:
// everything it needs (argv, descriptor numbers) is prepared before fork.
#include "service/WorkerSpawn.h"

#include <cerrno>
#include <csignal>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace portico::host {
namespace {

// Well above 0-8, so dup2 to the fixed numbers never overwrites a source.
constexpr int kScratchFd = 16;

[[noreturn]] void child_fail() {
    ::_exit(127);
}

// Runs in the child, before exec. Signals stay blocked as the master's
// SignalWaiter left them: a SIGTERM that arrives before the worker takes
// signals stays pending instead of killing it half-started.
[[noreturn]] void exec_worker(const WorkerLaunch &launch, char *const argv[], pid_t master, int max_fd) {
    if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) child_fail();
    if (::getppid() != master) child_fail(); // the master died before prctl took effect
    const int listen = ::fcntl(launch.listen_fd, F_DUPFD, kScratchFd);
    const int config = ::fcntl(launch.config_fd, F_DUPFD, kScratchFd);
    const int counters = ::fcntl(launch.counters_fd, F_DUPFD, kScratchFd);
    const int limits = ::fcntl(launch.limits_fd, F_DUPFD, kScratchFd);
    const int control = ::fcntl(launch.control_fd, F_DUPFD, kScratchFd);
    const int state = launch.state_fd >= 0 ? ::fcntl(launch.state_fd, F_DUPFD, kScratchFd) : -1;
    if (listen < 0 || config < 0 || counters < 0 || limits < 0 || control < 0 || (launch.state_fd >= 0 && state < 0))
        child_fail();
    if (::dup2(listen, kWorkerListenFd) < 0 || ::dup2(config, kWorkerConfigFd) < 0 ||
        ::dup2(counters, kWorkerCountersFd) < 0 || ::dup2(limits, kWorkerLimitsFd) < 0 ||
        ::dup2(control, kWorkerControlFd) < 0 || (state >= 0 && ::dup2(state, kWorkerStateFd) < 0))
        child_fail();
    // Nothing else of the master's may leak into a worker: another service's
    // listening socket held open by a worker would keep its port bound. With
    // no state to import, kWorkerStateFd is closed too: the worker tells by it.
    const int first_closed = state >= 0 ? kWorkerStateFd + 1 : kWorkerStateFd;
    if (::close_range(static_cast<unsigned>(first_closed), ~0U, 0) != 0)
        for (int fd = first_closed; fd < max_fd; ++fd)
            ::close(fd);
    ::execv("/proc/self/exe", argv);
    child_fail();
}

} // namespace

pid_t spawn_worker(const WorkerLaunch &launch) {
    std::vector<std::string> args{"portico",
                                  kWorkerFlag,
                                  launch.service,
                                  "--config",
                                  launch.config_file.string(),
                                  "--plugin",
                                  launch.plugin_file.string(),
                                  kWorkerLimitsSlotFlag,
                                  std::to_string(launch.limits_slot)};
    std::vector<char *> argv;
    for (std::string &arg : args)
        argv.push_back(arg.data());
    argv.push_back(nullptr);
    rlimit files{};
    const int max_fd = ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY
                           ? static_cast<int>(std::min<rlim_t>(files.rlim_cur, 1 << 20))
                           : 1 << 16;
    const pid_t master = ::getpid();

    const pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid == 0) exec_worker(launch, argv.data(), master, max_fd);
    return pid;
}

} // namespace portico::host
