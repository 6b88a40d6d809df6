// process_isolation_test.cpp — `mode: process`: the master opens no service
// on a plugin, so a plugin whose service_open aborts kills workers only:
// each death is logged with the signal, the plugin and its version, the
// workers are respawned with a growing back-off, and the master goes on
// serving every other service.
#include "harness/AdminHost.h"
#include "harness/Deadline.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace portico::test {
namespace {

TEST(ProcessIsolation, APluginThatAbortsInServiceOpenKillsOnlyWorkersAndTheMasterServesTheRest) {
    TempDir dir;
    AdminHostSpec spec;
    spec.plugin_dir = make_plugin_dir(dir, {test_plugin("abort_open"), shipped_plugin("upper")});
    spec.services = {{"doomed", "abort_open.echo", "    mode: process\n    workers: 1\n"},
                     {"upper", "upper.upper", ""}};
    AdminHost host(dir, spec); // throws if the master died while starting

    // A worker dies of it, and the next one only after a back-off that grows.
    const std::string death = "worker [0-9]+ of service 'doomed' killed by signal 6 \\(SIGABRT\\); respawning in ";
    const std::string plugin = "ms of starting; plugin abort_open 1\\.0\\.0, generation [0-9]+\\)";
    EXPECT_TRUE(host.process().wait_for_log(std::regex(death + "100ms \\(1 worker\\(s\\) in a row .*" + plugin), 10s))
        << host.process().log_text();
    EXPECT_TRUE(host.process().wait_for_log(std::regex(death + "400ms \\(3 worker\\(s\\) in a row .*" + plugin), 10s))
        << host.process().log_text();

    // The master and its other service are untouched.
    EXPECT_TRUE(host.process().running());
    TcpClient client(host.port("upper"));
    EXPECT_EQ(client.round_trip("still serving\n"), "STILL SERVING\n");
    EXPECT_EQ(host.get("/ready").status, 200);
}

} // namespace
} // namespace portico::test
