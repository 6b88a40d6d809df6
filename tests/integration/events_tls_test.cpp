// events_tls_test.cpp — `tls:` on a `mode: events` service, with the same
// keys as in mode threads: on one loop thread, a stalled handshake, a TLS
// session waiting in a read and a plain-text client on the TLS port each
// cost only their own connection; client certificates are verified and
// visible to the handler; shutdown wakes a handler waiting in a TLS read.
#include "harness/ChildProcess.h"
#include "harness/ConfigBuilder.h"
#include "harness/ExternalTool.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"
#include "harness/TlsCerts.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

std::string tls_map(const CertPair &server, const std::string &extra = "") {
    // Relative paths: resolved against the config file's folder (the TempDir).
    return "{cert: certs/" + server.cert.filename().string() + ", key: certs/" + server.key.filename().string() +
           extra + "}";
}

bool has(const std::string &text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

class EventsTls : public ::testing::Test {
protected:
    ToolResult python(std::uint16_t port, std::vector<std::string> args) const {
        std::vector<std::string> all{script.string(), std::to_string(port)};
        all.insert(all.end(), args.begin(), args.end());
        return run_tool(require_tool("python3", "python3"), all, 40s);
    }
    // A TLS client that sends `first`, then waits for `go` to exist before sending `second`.
    std::unique_ptr<ChildProcess> waiting_python(std::uint16_t port, const std::string &first, const fs::path &go,
                                                 const std::string &second) const {
        return std::make_unique<ChildProcess>(require_tool("python3", "python3"),
                                              std::vector<std::string>{script.string(), std::to_string(port), "--ca",
                                                                       ca, "--send", first, "--wait-file", go.string(),
                                                                       "--send2", second});
    }

    TempDir dir{"portico-events-tls"};
    TlsCerts certs{dir};
    fs::path script = write_tls_client_script(dir);
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
    auto open_session = waiting_python(port, "before", go, "after");
    ASSERT_TRUE(open_session->wait_for_output([](const std::string &out) { return has(out, "waiting"); }, 30s))
        << open_session->output();
    EXPECT_TRUE(has(open_session->output(), "line=BEFORE")) << open_session->output();
    TcpClient stalled(port);

    const ToolResult v13 = python(port, {"--ca", ca, "--send", "Hello, Server!", "--send", "second line"});
    EXPECT_EQ(v13.status, ExitStatus::exited(0)) << v13.describe();
    EXPECT_TRUE(has(v13.output, "cn=server-one")) << v13.output;
    EXPECT_TRUE(has(v13.output, "version=TLSv1.3")) << v13.output;
    EXPECT_TRUE(has(v13.output, "line=HELLO, SERVER!")) << v13.output;
    EXPECT_TRUE(has(v13.output, "line=SECOND LINE")) << v13.output;
    const ToolResult v12 = python(port, {"--ca", ca, "--max-version", "1.2", "--send", "old"});
    EXPECT_TRUE(has(v12.output, "version=TLSv1.2")) << v12.output;
    EXPECT_TRUE(has(v12.output, "line=OLD")) << v12.output;
    EXPECT_EQ(stalled.read_until_closed(0ms), std::nullopt)
        << "the stalled handshake was cut before the others were served: they waited for it";

    // The waiting session goes on where it was.
    std::ofstream(go).flush();
    EXPECT_EQ(open_session->wait_exit(30s), ExitStatus::exited(0)) << open_session->output();
    EXPECT_TRUE(has(open_session->output(), "line=AFTER")) << open_session->output();

    // Plain text on the TLS port: the handshake fails, the connection is
    // closed, the text is never upper-cased.
    TcpClient plain(port);
    plain.send("hello in plain text\n");
    const auto reply = plain.read_until_closed(10s);
    ASSERT_TRUE(reply.has_value()) << "the host must close a plain-text client on a TLS port";
    EXPECT_FALSE(has(*reply, "HELLO IN PLAIN TEXT"));
    EXPECT_TRUE(host.wait_for_log("TLS handshake failed", 5s));

    EXPECT_TRUE(stalled.read_until_closed(10s).has_value()) << "a stalled handshake must be cut";
    EXPECT_TRUE(host.wait_for_log("no complete TLS handshake within 4000ms", 5s));
    const ToolResult after = python(port, {"--ca", ca, "--send", "still fine"});
    EXPECT_TRUE(has(after.output, "line=STILL FINE")) << after.output;
}

TEST_F(EventsTls, ClientCertificatesAreVerifiedAndVisibleToTheHandler) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("tls_info")}));
    config.service("required", "tlsinfo.whoami")
        .events(1)
        .option("tls",
                tls_map(certs.server_one(), ", ca: certs/ca.pem, verify_client: required, min_version: \"1.3\""));
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("required");

    const ToolResult alice = python(port, {"--ca", ca, "--cert", certs.alice().cert.string(), "--key",
                                           certs.alice().key.string(), "--lines", "1", "--send", "hi"});
    EXPECT_EQ(alice.status, ExitStatus::exited(0)) << alice.describe();
    EXPECT_TRUE(has(alice.output, "line=tls=1 subject=CN=alice,O=Portico Tests")) << alice.output;
    EXPECT_TRUE(has(alice.output, "line=HI")) << alice.output;

    const ToolResult mallory = python(port, {"--ca", ca, "--cert", certs.mallory().cert.string(), "--key",
                                             certs.mallory().key.string(), "--lines", "1"});
    EXPECT_EQ(mallory.status, ExitStatus::exited(3)) << mallory.describe();
    EXPECT_FALSE(has(mallory.output, "line=")) << mallory.output;
    const ToolResult no_cert = python(port, {"--ca", ca, "--lines", "1"});
    EXPECT_EQ(no_cert.status, ExitStatus::exited(3)) << no_cert.describe();
    const ToolResult old = python(port, {"--ca", ca, "--cert", certs.alice().cert.string(), "--key",
                                         certs.alice().key.string(), "--max-version", "1.2", "--lines", "1"});
    EXPECT_EQ(old.status, ExitStatus::exited(3)) << "min_version \"1.3\" refuses TLS 1.2: " << old.describe();
    EXPECT_TRUE(host.wait_for_log("TLS handshake failed", 5s));
}

TEST_F(EventsTls, ShutdownWakesAHandlerWaitingInATlsRead) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    config.service("upper", "upper.upper").events(1).option("tls", tls_map(certs.server_one()));
    config.shutdown_timeout("500ms");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    auto client = waiting_python(host.port("upper"), "one", dir / "never", "two");
    ASSERT_TRUE(client->wait_for_output([](const std::string &out) { return has(out, "waiting"); }, 30s))
        << client->output();
    host.send_signal(SIGTERM);
    EXPECT_EQ(host.wait_exit(10s), ExitStatus::exited(0));
    EXPECT_TRUE(has(host.log_text(), "closing them")) << host.log_text();
    EXPECT_TRUE(has(host.log_text(), "stopped")) << host.log_text();
    EXPECT_FALSE(has(host.log_text(), "sessions that would not end")) << host.log_text();
}

} // namespace
} // namespace portico::test
