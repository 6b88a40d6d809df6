// crash_report_test.cpp — a plugin that crashes in mode threads or events
// takes the host down (documented), but not silently (issue 14 item 8): its
// stderr names the signal, the service, plugin, version and handler whose
// code was running, and the peer, with a backtrace, and the host dies by
// that signal so a supervisor sees why.
#include "harness/ConfigBuilder.h"
#include "harness/ExitStatus.h"
#include "harness/HarnessError.h"
#include "harness/Modes.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <csignal>
#include <ostream>
#include <string>
#include <tuple>

namespace portico::test {
namespace {

struct CrashCase {
    const char *input;
    int signal;
    const char *signal_name;
};

// Test names say the mode and the input; this says the rest in a failure.
void PrintTo(const CrashCase &crash, std::ostream *os) {
    *os << '"' << crash.input << "\" (" << crash.signal_name << ")";
}

class CrashReport : public ::testing::TestWithParam<std::tuple<std::string, CrashCase>> {};

TEST_P(CrashReport, NamesTheSignalAndThePluginCodeThenDiesByThatSignal) {
    const auto &[mode, crash] = GetParam();
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("crash")}));
    in_mode(config.service("crash", "crash.crash"), mode);
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("crash");

    // A bystander on the same host, so the report must name the right session.
    TcpClient bystander(port);
    bystander.send("hello\n");
    ASSERT_EQ(bystander.read_line(), "HELLO\n");

    TcpClient victim(port);
    victim.send("fine\n");
    ASSERT_EQ(victim.read_line(), "FINE\n");
    const std::string peer = "peer 127.0.0.1:" + std::to_string(victim.local_port());
    victim.send(std::string(crash.input) + "\n");

    const ExitStatus status = host.wait_exit(30s);
    const std::string log = host.log_text();
#if defined(__SANITIZE_ADDRESS__)
    if (status != ExitStatus::signaled(crash.signal))
        GTEST_SKIP() << "the sanitizer handled the crash itself: " << status;
#endif
    EXPECT_EQ(status, ExitStatus::signaled(crash.signal)) << "the host must die by the plugin's signal";
    const auto lines = lines_containing(log, {"portico: fatal signal", crash.signal_name});
    ASSERT_EQ(lines.size(), 1u) << "no (or more than one) crash report naming " << crash.signal_name;
    const std::string &report = lines.front();
    EXPECT_NE(report.find("in plugin code: service 'crash'"), std::string::npos) << report;
    EXPECT_NE(report.find("plugin crash version 1.0.0"), std::string::npos) << report;
    EXPECT_NE(report.find("handler crash.crash"), std::string::npos) << report;
    EXPECT_NE(report.find(peer + ";"), std::string::npos) << "not the crashing session's peer: " << report;
    EXPECT_NE(log.find("portico: exiting by that signal"), std::string::npos) << "no end of the report";
    // backtrace_symbols_fd names the frames' objects: the host binary at least.
    EXPECT_NE(log.find("portico("), std::string::npos) << "no backtrace";
}

INSTANTIATE_TEST_SUITE_P(
    Modes, CrashReport,
    ::testing::Combine(::testing::Values("threads", "events"),
                       ::testing::Values(CrashCase{"segv", SIGSEGV, "SIGSEGV"}, CrashCase{"abort", SIGABRT, "SIGABRT"},
                                         CrashCase{"overflow", SIGSEGV, "SIGSEGV"})),
    [](const auto &info) { return std::get<0>(info.param) + "_" + std::get<1>(info.param).input; });

} // namespace
} // namespace portico::test
