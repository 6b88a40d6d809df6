// events_descriptors_test.cpp — a mode events service whose process runs
// out of file descriptors (its open-files limit lowered under it with
// prlimit(2)): clients beyond the limit are refused with the busy line and
// a log line that says what to raise, the loop does not spin on the
// readable listener, a connection it already serves goes on, and once
// descriptors are free again new clients are served.
#include "harness/ConfigBuilder.h"
#include "harness/Deadline.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

namespace portico::test {
namespace {

using Clock = std::chrono::steady_clock;

long long open_descriptors(pid_t pid) {
    long long n = 0;
    for ([[maybe_unused]] const auto &entry :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
        ++n;
    return n;
}

// utime + stime of the process, in clock ticks.
long long cpu_ticks(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string skip;
    for (int i = 0; i < 11; ++i)
        fields >> skip; // state … cmajflt
    long long utime = 0, stime = 0;
    fields >> utime >> stime;
    return utime + stime;
}

// The soft limit only: lowering the hard one could not be undone without
// CAP_SYS_RESOURCE.
bool set_open_files_limit(pid_t pid, const rlimit &original, rlim_t soft) {
    const rlimit value{soft, original.rlim_max};
    return ::prlimit(pid, RLIMIT_NOFILE, &value, nullptr) == 0;
}

TEST(EventsDescriptors, OutOfDescriptorsRefusesVisiblyWithoutSpinningAndRecovers) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    config.service("upper", "upper.upper").events(1).option("busy_message", yaml_quote("busy"));
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("upper");

    TcpClient steady(port);
    steady.send("before\n");
    ASSERT_EQ(steady.read_line(), "BEFORE\n");

    // UBSan (-fsanitize=vptr, make test-sanitize) checks the first call of
    // each polymorphic type pair by writing the object's vtable into a
    // pipe(2): with no descriptor left that fails, and it reports a live
    // object as one with an invalid vptr. So the loop must have handed a
    // socket event to a connection (FiberIo) before the host is starved,
    // and the round trip above does not promise that: its reply goes out
    // before any event for it. Each of these clients is accepted in a later
    // epoll_wait than the one before; by the second one's reply the loop has
    // dispatched the round that handed out the steady connection's first
    // event.
    std::vector<TcpClient> warm;
    for (int i = 0; i < 2; ++i) {
        warm.emplace_back(port);
        warm.back().send("warm\n");
        ASSERT_EQ(warm.back().read_line(), "WARM\n");
    }

    rlimit original{};
    ASSERT_EQ(::prlimit(host.pid(), RLIMIT_NOFILE, nullptr, &original), 0);
    const long long in_use = open_descriptors(host.pid());
    if (!set_open_files_limit(host.pid(), original, static_cast<rlim_t>(in_use + 8)))
        GTEST_SKIP() << "cannot change the host's open-files limit here";

    // Far more clients than descriptors: the kernel completes their
    // handshakes, the host can take in only a few.
    std::vector<TcpClient> crowd;
    for (int i = 0; i < 40; ++i)
        crowd.emplace_back(port);
    ASSERT_TRUE(host.wait_for_log("out of file descriptors", 5s)) << "no log line says what ran out";

    // The listener stays readable all along: a loop that spun on it would
    // burn a core. Measure a second of it, and the steady client meanwhile.
    const long long ticks_before = cpu_ticks(host.pid());
    const auto started = Clock::now();
    while (Clock::now() - started < 1s) {
        const auto asked = Clock::now();
        steady.send("still here\n");
        ASSERT_EQ(steady.read_line(), "STILL HERE\n");
        EXPECT_LT(Clock::now() - asked, 2000ms) << "the loop kept a served connection waiting (starved)";
        std::this_thread::sleep_for(50ms);
    }
    const long long ticks = cpu_ticks(host.pid()) - ticks_before;
    EXPECT_LT(ticks, ::sysconf(_SC_CLK_TCK) / 2) << "the host used " << ticks << " ticks in one second";

    // Descriptors back: the clients still waiting in the backlog and new
    // ones are served.
    ASSERT_TRUE(set_open_files_limit(host.pid(), original, original.rlim_cur));
    crowd.clear();
    EXPECT_TRUE(wait_until(
        [&] {
            try {
                TcpClient client(port);
                client.send("after\n");
                return client.read_line(2s) == "AFTER\n";
            } catch (const std::exception &) {
                return false;
            }
        },
        5s))
        << "no new client was served after descriptors came free";
    EXPECT_TRUE(host.running());
}

} // namespace
} // namespace portico::test
