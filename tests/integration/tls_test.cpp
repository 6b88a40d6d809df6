// tls_test.cpp — `tls:` on a TCP service, from a client's side: the shipped
// upper plugin answers `openssl s_client` and Python's ssl module, a plain
// client on the TLS port fails alone, client certificates and min_version
// are enforced and a handler waiting in a TLS read is woken at shutdown (in
// both modes), and a certificate swapped on disk is what the next connection
// sees after a reload, while an open connection goes on with the old one.
#include "harness/ChildProcess.h"
#include "harness/ConfigBuilder.h"
#include "harness/ExternalTool.h"
#include "harness/Modes.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"
#include "harness/Text.h"
#include "harness/TlsCerts.h"
#include "harness/TlsClient.h"

#include <gtest/gtest.h>

#include <csignal>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace portico::test {
namespace {

namespace fs = std::filesystem;

// Certificates and the TLS client in the test's folder. TEST_P tests run in
// mode threads and mode events alike (Modes/TlsTest.*/threads and …/events);
// TEST_F tests use the default mode, threads.
class TlsTest : public ::testing::TestWithParam<std::string> {
protected:
    TempDir dir{"portico-tls"};
    TlsCerts certs{dir};
    TlsClient python{dir};
    std::string ca = certs.ca().string();
};

TEST_F(TlsTest, UpperOverTlsAnswersPythonAndOpensslClients) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    config.service("upper", "upper.upper").threads(1, 4).option("tls", tls_map(certs.server_one()));
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("upper");

    const ToolResult py = python.run(port, {"--ca", ca, "--send", "Hello, Server!", "--send", "second line"});
    EXPECT_EQ(py.status, ExitStatus::exited(0)) << py.describe();
    EXPECT_TRUE(contains(py.output, "cn=server-one")) << py.output;
    EXPECT_TRUE(contains(py.output, "line=HELLO, SERVER!")) << py.output;
    EXPECT_TRUE(contains(py.output, "line=SECOND LINE")) << py.output;

    // s_client sends the line, and at the end of its input closes with
    // close_notify; the pause lets the reply arrive before that.
    const auto openssl = require_tool("openssl", "openssl");
    const ToolResult sc = run_tool("/bin/sh",
                                   {"-c", "(printf 'hello from s_client\\n'; sleep 2) | '" + openssl.string() +
                                              "' s_client -connect 127.0.0.1:" + std::to_string(port) + " -CAfile '" +
                                              ca + "' -verify_return_error -brief"},
                                   40s);
    EXPECT_EQ(sc.status, ExitStatus::exited(0)) << sc.describe();
    EXPECT_TRUE(contains(sc.output, "HELLO FROM S_CLIENT")) << sc.output;
    EXPECT_TRUE(contains(sc.output, "Verification: OK")) << sc.output;

    // min_version defaults to 1.2: a TLS 1.2 client is served too.
    const ToolResult v12 = python.run(port, {"--ca", ca, "--max-version", "1.2", "--send", "old"});
    EXPECT_TRUE(contains(v12.output, "version=TLSv1.2")) << v12.output;
    EXPECT_TRUE(contains(v12.output, "line=OLD")) << v12.output;
}

TEST_F(TlsTest, PlainClientOnTlsPortFailsWithoutDisturbingOthers) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    config.service("secure", "upper.upper")
        .threads(1, 4)
        .option("read_timeout", "1500ms")
        .option("tls", tls_map(certs.server_one()));
    config.service("plain", "upper.upper").threads(1, 2);
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("secure");

    // A client that connects and says nothing holds a worker in its
    // handshake: TLS clients are still served (the accept thread never
    // handshakes) and the stalled one is cut by the service's timeouts.
    TcpClient stalled(port);
    const ToolResult during = python.run(port, {"--ca", ca, "--send", "served meanwhile"});
    EXPECT_TRUE(contains(during.output, "line=SERVED MEANWHILE")) << during.output;
    EXPECT_TRUE(stalled.read_until_closed(10s).has_value()) << "a stalled handshake must be cut";
    EXPECT_TRUE(host.wait_for_log("no complete TLS handshake within 1500ms", 5s));

    // Plain text on the TLS port: the handshake fails, the connection is
    // closed, the text is never upper-cased, and nothing else notices.
    expect_plain_text_client_closed(host, port);

    const ToolResult after = python.run(port, {"--ca", ca, "--send", "still fine"});
    EXPECT_TRUE(contains(after.output, "line=STILL FINE")) << after.output;
    TcpClient other(host.port("plain"));
    EXPECT_EQ(other.round_trip("plain service\n"), "PLAIN SERVICE\n");
    EXPECT_TRUE(host.running());
}

// verify_client required (with min_version "1.3") and optional, and the same
// plugin on a plain port.
TEST_P(TlsTest, ClientCertificatesAreVerifiedAndVisibleToTheHandler) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {test_plugin("tls_info")}));
    in_mode(config.service("required", "tlsinfo.whoami"), GetParam())
        .option("tls",
                tls_map(certs.server_one(), ", ca: certs/ca.pem, verify_client: required, min_version: \"1.3\""));
    in_mode(config.service("optional", "tlsinfo.whoami"), GetParam())
        .option("tls", tls_map(certs.server_one(), ", ca: certs/ca.pem, verify_client: optional"));
    in_mode(config.service("plain", "tlsinfo.whoami"), GetParam());
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const std::vector<std::string> alice{
        "--ca", ca,       "--cert", certs.alice().cert.string(), "--key", certs.alice().key.string(), "--lines",
        "1",    "--send", "hi"};
    const std::vector<std::string> mallory{
        "--ca", ca, "--cert", certs.mallory().cert.string(), "--key", certs.mallory().key.string(), "--lines", "1"};

    const ToolResult signed_client = python.run(host.port("required"), alice);
    EXPECT_EQ(signed_client.status, ExitStatus::exited(0)) << signed_client.describe();
    EXPECT_TRUE(contains(signed_client.output, "line=tls=1 subject=CN=alice,O=Portico Tests")) << signed_client.output;
    EXPECT_TRUE(contains(signed_client.output, "line=HI")) << signed_client.output;
    EXPECT_TRUE(contains(signed_client.output, "version=TLSv1.3")) << signed_client.output;

    const ToolResult unsigned_client = python.run(host.port("required"), mallory);
    EXPECT_EQ(unsigned_client.status, ExitStatus::exited(3)) << unsigned_client.describe();
    EXPECT_FALSE(contains(unsigned_client.output, "line=")) << unsigned_client.output;
    EXPECT_TRUE(host.wait_for_log("TLS handshake failed", 5s));

    const ToolResult no_cert = python.run(host.port("required"), {"--ca", ca, "--lines", "1"});
    EXPECT_EQ(no_cert.status, ExitStatus::exited(3)) << no_cert.describe();
    // min_version "1.3": a TLS 1.2 client is refused, signed certificate or not.
    const ToolResult old =
        python.run(host.port("required"), {"--ca", ca, "--cert", certs.alice().cert.string(), "--key",
                                           certs.alice().key.string(), "--max-version", "1.2", "--lines", "1"});
    EXPECT_EQ(old.status, ExitStatus::exited(3)) << "min_version \"1.3\" refuses TLS 1.2: " << old.describe();

    // optional: no certificate is fine (empty subject); a bad one is not.
    const ToolResult anonymous = python.run(host.port("optional"), {"--ca", ca, "--lines", "1"});
    EXPECT_TRUE(contains(anonymous.output, "line=tls=1 subject=\n") ||
                contains(anonymous.output, "line=tls=1 subject=\r"))
        << anonymous.output;
    EXPECT_EQ(python.run(host.port("optional"), mallory).status, ExitStatus::exited(3));
    EXPECT_TRUE(contains(python.run(host.port("optional"), alice).output, "subject=CN=alice,O=Portico Tests"));

    // The same plugin on a plain port: same Stream API, no TLS.
    TcpClient plain(host.port("plain"));
    EXPECT_EQ(plain.read_line(), "tls=0 subject=\n");
    EXPECT_EQ(plain.round_trip("plain\n"), "PLAIN\n");
}

TEST_F(TlsTest, ReloadSwapsTheCertificateForNewConnectionsOnly) {
    // The service reads certs/live.pem and live.key, replaced on disk below.
    fs::copy_file(certs.server_one().cert, dir / "certs/live.pem");
    fs::copy_file(certs.server_one().key, dir / "certs/live.key");
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    config.service("upper", "upper.upper").threads(1, 4).option("tls", "{cert: certs/live.pem, key: certs/live.key}");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto port = host.port("upper");

    // An open connection on the first certificate, waiting for a file to go on.
    const fs::path go = dir / "go";
    const auto open_client = python.start_waiting(port, ca, "before", go, "after the reload");
    ASSERT_TRUE(open_client->wait_for_output([](const std::string &out) { return contains(out, "waiting"); }, 30s))
        << open_client->output();
    EXPECT_TRUE(contains(open_client->output(), "cn=server-one")) << open_client->output();

    const auto overwrite = [&](const fs::path &from, const fs::path &to) {
        fs::copy_file(from, to, fs::copy_options::overwrite_existing);
    };
    overwrite(certs.server_two().cert, dir / "certs/live.pem");
    overwrite(certs.server_two().key, dir / "certs/live.key");
    host.send_signal(SIGHUP);
    ASSERT_TRUE(host.wait_for_log("new TLS certificate CN=server-two", 10s));

    const ToolResult next = python.run(port, {"--ca", ca, "--send", "next"});
    EXPECT_TRUE(contains(next.output, "cn=server-two")) << next.output;
    EXPECT_TRUE(contains(next.output, "line=NEXT")) << next.output;

    // The open connection continues on its session.
    std::ofstream(go).flush();
    EXPECT_EQ(open_client->wait_exit(30s), ExitStatus::exited(0)) << open_client->output();
    EXPECT_TRUE(contains(open_client->output(), "line=AFTER THE RELOAD")) << open_client->output();

    // A key that does not match: refused, named, and server-two serves on.
    overwrite(certs.server_one().key, dir / "certs/live.key");
    host.send_signal(SIGHUP);
    const auto mismatch = host.wait_for_log_line({"does not match certificate", "live.key"}, 10s);
    ASSERT_TRUE(mismatch.has_value());
    EXPECT_TRUE(contains(*mismatch, "previous certificate keeps serving")) << *mismatch;
    EXPECT_TRUE(contains(python.run(port, {"--ca", ca, "--send", "x"}).output, "cn=server-two"));

    // An unreadable certificate: the same.
    fs::remove(dir / "certs/live.pem");
    host.send_signal(SIGHUP);
    const auto missing = host.wait_for_log_line({"cannot read it", "live.pem"}, 10s);
    ASSERT_TRUE(missing.has_value());
    const ToolResult still = python.run(port, {"--ca", ca, "--send", "still"});
    EXPECT_TRUE(contains(still.output, "cn=server-two")) << still.output;
    EXPECT_TRUE(contains(still.output, "line=STILL")) << still.output;
}

TEST_P(TlsTest, ShutdownWakesAHandlerBlockedInATlsRead) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    in_mode(config.service("upper", "upper.upper"), GetParam()).option("tls", tls_map(certs.server_one()));
    config.shutdown_timeout("500ms");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    // The handler waits in read_line on a TLS connection that stays silent.
    const auto client = python.start_waiting(host.port("upper"), ca, "one", dir / "never", "two");
    ASSERT_TRUE(client->wait_for_output([](const std::string &out) { return contains(out, "waiting"); }, 30s))
        << client->output();
    host.send_signal(SIGTERM);
    EXPECT_EQ(host.wait_exit(10s), ExitStatus::exited(0));
    EXPECT_TRUE(contains(host.log_text(), "closing them")) << host.log_text();
    EXPECT_TRUE(contains(host.log_text(), "stopped")) << host.log_text();
    EXPECT_FALSE(contains(host.log_text(), "sessions that would not end")) << host.log_text();
}

INSTANTIATE_TEST_SUITE_P(Modes, TlsTest, ::testing::Values("threads", "events"),
                         [](const auto &info) { return info.param; });

TEST_F(TlsTest, StartupNamesMissingFilesAndMismatchedKeys) {
    {
        ConfigBuilder config;
        config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
        config.service("upper", "upper.upper").option("tls", "{cert: certs/nowhere.pem, key: certs/server-one.key}");
        PorticoProcess host(dir, config.yaml());
        EXPECT_EQ(host.wait_exit(10s), ExitStatus::exited(2));
        EXPECT_TRUE(contains(host.log_text(), (dir / "certs/nowhere.pem").string() + ": cannot read it"))
            << host.log_text();
        EXPECT_TRUE(
            std::regex_search(host.log_text(), std::regex(R"(portico\.yaml:[0-9]+:[0-9]+: services\[0\]\.tls\.cert)")))
            << host.log_text();
    }
    {
        ConfigBuilder config;
        config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
        config.service("upper", "upper.upper").option("tls", "{cert: certs/server-one.pem, key: certs/server-two.key}");
        PorticoProcess host(dir, config.yaml());
        EXPECT_EQ(host.wait_exit(10s), ExitStatus::exited(2));
        EXPECT_TRUE(contains(host.log_text(), "key file " + (dir / "certs/server-two.key").string() +
                                                  " does not match certificate file " +
                                                  (dir / "certs/server-one.pem").string()))
            << host.log_text();
    }
}

TEST_F(TlsTest, StartupRefusesAFifoKeyAtOnceInsteadOfHanging) {
    const fs::path fifo = dir / "certs/fifo.key";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0); // nobody ever writes it
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    config.service("upper", "upper.upper").option("tls", "{cert: certs/server-one.pem, key: certs/fifo.key}");
    PorticoProcess host(dir, config.yaml());
    EXPECT_EQ(host.wait_exit(10s), ExitStatus::exited(2)) << host.log_text();
    EXPECT_TRUE(contains(host.log_text(), "services[0].tls.key: key file " + fifo.string() +
                                              ": cannot read it: it is a FIFO (named pipe), not a regular file"))
        << host.log_text();
}

// With user:, reloads re-read the TLS files as that user: a key only root
// can read is named at start, before it silently stops reloading.
TEST_F(TlsTest, AKeyTheDroppedUserCannotReadIsAWarningAtStart) {
    if (::geteuid() != 0) GTEST_SKIP() << "user: needs the test to run as root (uid " << ::geteuid() << ")";
    if (::getpwnam("nobody") == nullptr) GTEST_SKIP() << "this machine has no user 'nobody'";
    fs::permissions(dir.path(), fs::perms(0755));
    fs::permissions(dir / "certs", fs::perms(0755));
    fs::permissions(certs.server_one().cert, fs::perms(0644));
    fs::permissions(certs.server_one().key, fs::perms(0600));
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    config.service("upper", "upper.upper").option("tls", tls_map(certs.server_one()));
    config.raw("user: nobody");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready()) << host.log_text();
    const auto line = host.wait_for_log_line({"tls.key", certs.server_one().key.string(), "cannot read"}, 5s);
    ASSERT_TRUE(line.has_value()) << host.log_text();
    EXPECT_TRUE(contains(*line, "[Warning]")) << *line;
    EXPECT_TRUE(contains(*line, "owned by root with mode 0600")) << *line;
    EXPECT_TRUE(contains(*line, "a reload cannot re-read it")) << *line;
    // The readable certificate is not warned about: by then the line above is
    // written, and the warnings come from one loop.
    EXPECT_FALSE(contains(host.log_text(), "tls.cert: ")) << host.log_text();
}

TEST_F(TlsTest, AnExpiredCertificateLoadedByAReloadIsAWarningToo) {
    fs::copy_file(certs.server_one().cert, dir / "certs/live.pem");
    fs::copy_file(certs.server_one().key, dir / "certs/live.key");
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    config.service("upper", "upper.upper").option("tls", "{cert: certs/live.pem, key: certs/live.key}");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    fs::copy_file(certs.expired().cert, dir / "certs/live.pem", fs::copy_options::overwrite_existing);
    fs::copy_file(certs.expired().key, dir / "certs/live.key", fs::copy_options::overwrite_existing);
    host.send_signal(SIGHUP);
    const auto line = host.wait_for_log_line({"live.pem", "expired on 2020-01-02"}, 10s);
    ASSERT_TRUE(line.has_value()) << host.log_text();
    EXPECT_TRUE(contains(*line, "[Warning]")) << *line;
}

TEST_F(TlsTest, ExpiredCertificateIsAWarning) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    config.service("old", "upper.upper").option("tls", "{cert: certs/expired.pem, key: certs/expired.key}");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());
    const auto line = host.wait_for_log_line({"expired.pem", "expired on 2020-01-02"}, 5s);
    ASSERT_TRUE(line.has_value()) << host.log_text();
    EXPECT_TRUE(contains(*line, "[Warning]")) << *line;
    // Served as configured; a verifying client refuses it, which is its call.
    const ToolResult client = python.run(host.port("old"), {"--ca", ca, "--send", "x"});
    EXPECT_EQ(client.status, ExitStatus::exited(3)) << client.describe();
    EXPECT_TRUE(contains(client.output, "expired")) << client.output;
}

} // namespace
} // namespace portico::test
