// server_address_test.cpp — socketserver's server_address: a service on
// `127.0.0.1:0` gets a free port from the kernel, and the start log line and
// /status (which the status page shows) name that port, for TCP and UDP
// alike; the port they name is the one that answers.
#include "harness/AdminHost.h"
#include "harness/AdminStatus.h"
#include "harness/Json.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"
#include "harness/UdpClient.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace portico::test {
namespace {

TEST(ServerAddress, TheChosenPortOfAPortZeroServiceIsInTheLogAndStatusAndAnswers) {
    TempDir dir;
    AdminHostSpec spec;
    spec.plugin_dir = make_plugin_dir(dir, {shipped_plugin("upper"), shipped_plugin("udp_upper")});
    spec.services = {{"upper", "upper.upper", ""}, {"dgram", "udp_upper", "    protocol: udp\n"}};
    AdminHost host(dir, spec);

    const Json status = Json::parse(host.get("/status").body);
    for (const std::string name : {"upper", "dgram"}) {
        SCOPED_TRACE(name);
        const auto logged =
            host.process().wait_for_log(std::regex("service '" + name + "' listening on 127\\.0\\.0\\.1:(\\d+) "), 1s);
        ASSERT_TRUE(logged) << host.process().log_text();
        EXPECT_NE((*logged)[1], "0") << "the log should name the port the kernel chose, not the config's 0";
        EXPECT_EQ(service_named(status, name)["address"].string(), "127.0.0.1:" + (*logged)[1]);
    }
    EXPECT_EQ(ask(host.port("upper"), "over here"), "OVER HERE\n");
    UdpClient client(host.port("dgram"));
    EXPECT_EQ(client.request("and here"), "AND HERE");
}

} // namespace
} // namespace portico::test
