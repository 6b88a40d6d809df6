// events_tls_test.cpp — `tls:` on a `mode: events` service with one loop
// thread: a stalled handshake, a TLS session waiting in a read and a
// plain-text client on the TLS port each cost only their own connection.
// Client certificates and a shutdown during a TLS read in mode events are
// the Modes/TlsTest tests in tls_test.cpp.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"
#include "harness/Text.h"
#include "harness/TlsCerts.h"
#include "harness/TlsClient.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

class EventsTls : public ::testing::Test {
protected:
    TempDir dir{"portico-events-tls"};
    TlsCerts certs{dir};
    TlsClient python{dir};
    std::string ca = certs.ca().string();
};

TEST_F(EventsTls, OneLoopServesTlsClientsPastAStalledHandshakeAndAWaitingSession) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    config.service("secure", "upper.upper")
        .events(1)
        .option("read_timeout", "4s")
        .option("tls", tls_map(certs.server_one()));
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("secure");

    // A TLS session whose handler waits in read_line until the test says
    // go, and a client that connects and never starts its handshake.
    const fs::path go = dir / "go";
    auto open_session = python.start_waiting(port, ca, "before", go, "after");
    ASSERT_TRUE(open_session->wait_for_output([](const std::string &out) { return contains(out, "waiting"); }, 30s))
        << open_session->output();
    EXPECT_TRUE(contains(open_session->output(), "line=BEFORE")) << open_session->output();
    TcpClient stalled(port);

    const ToolResult v13 = python.run(port, {"--ca", ca, "--send", "Hello, Server!", "--send", "second line"});
    EXPECT_EQ(v13.status, ExitStatus::exited(0)) << v13.describe();
    EXPECT_TRUE(contains(v13.output, "cn=server-one")) << v13.output;
    EXPECT_TRUE(contains(v13.output, "version=TLSv1.3")) << v13.output;
    EXPECT_TRUE(contains(v13.output, "line=HELLO, SERVER!")) << v13.output;
    EXPECT_TRUE(contains(v13.output, "line=SECOND LINE")) << v13.output;
    const ToolResult v12 = python.run(port, {"--ca", ca, "--max-version", "1.2", "--send", "old"});
    EXPECT_TRUE(contains(v12.output, "version=TLSv1.2")) << v12.output;
    EXPECT_TRUE(contains(v12.output, "line=OLD")) << v12.output;
    EXPECT_EQ(stalled.read_until_closed(0ms), std::nullopt)
        << "the stalled handshake was cut before the others were served: they waited for it";

    // The waiting session goes on where it was.
    std::ofstream(go).flush();
    EXPECT_EQ(open_session->wait_exit(30s), ExitStatus::exited(0)) << open_session->output();
    EXPECT_TRUE(contains(open_session->output(), "line=AFTER")) << open_session->output();

    // Plain text on the TLS port: the handshake fails, the connection is
    // closed, the text is never upper-cased.
    expect_plain_text_client_closed(host, port);

    EXPECT_TRUE(stalled.read_until_closed(10s).has_value()) << "a stalled handshake must be cut";
    EXPECT_TRUE(host.wait_for_log("no complete TLS handshake within 4000ms", 5s));
    const ToolResult after = python.run(port, {"--ca", ca, "--send", "still fine"});
    EXPECT_TRUE(contains(after.output, "line=STILL FINE")) << after.output;
}

} // namespace
} // namespace portico::test
