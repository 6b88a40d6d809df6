// shutdown_test.cpp — SIGTERM and SIGINT stop the host gracefully: no new
// connections, in-flight requests finish, exit code 0.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/SocketQueues.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <optional>

namespace portico::test {
namespace {

// A host whose one service answers each line after 1 s, with one request in
// flight (read by the handler, not yet answered) when the test body starts.
class ShutdownDuringSlowRequest : public ::testing::Test {
  protected:
    void SetUp() override {
        ConfigBuilder config;
        config.plugin_dir(make_plugin_dir(dir_, {test_plugin("slow")}));
        config.service("slow", "slow.reply").setting("delay_ms", "1000");
        config.shutdown_timeout("10s");
        host_.emplace(dir_, config.yaml());
        ASSERT_TRUE(host_->wait_ready());
        port_ = host_->port("slow");
        client_.emplace(port_);
        client_->send("important work\n");
        // No reply comes for 1 s; the kernel tells when the handler has read the line.
        ASSERT_TRUE(wait_server_read_all(*client_, 2s)) << "the host never read the request";
    }

    TempDir dir_;
    std::optional<PorticoProcess> host_;
    std::uint16_t port_ = 0;
    std::optional<TcpClient> client_;
};

TEST_F(ShutdownDuringSlowRequest, SigtermLetsTheRequestFinishThenExitsZero) {
    host_->send_signal(SIGTERM);
    EXPECT_EQ(client_->read_line(3s), "done: important work\n");
    client_->close();
    EXPECT_EQ(host_->wait_exit(5s), ExitStatus::exited(0));
}

TEST_F(ShutdownDuringSlowRequest, SigtermRefusesNewConnectionsAtOnce) {
    host_->send_signal(SIGTERM);
    int last_error = 0;
    const bool refused = wait_until(
        [&] { return (last_error = TcpClient::probe_connect(port_, 100ms)) == ECONNREFUSED; }, 600ms, 10ms);
    EXPECT_TRUE(refused) << "connections to the service were still accepted 600 ms after SIGTERM; last attempt: "
                         << (last_error == 0 ? "connected" : std::strerror(last_error));
    ASSERT_TRUE(host_->running()) << "the host exited before its in-flight request was answered, so this "
                                     "test could not tell a refusal from an exit";
    EXPECT_EQ(client_->read_line(3s), "done: important work\n");
}

TEST(Shutdown, SigtermAndSigintWithNoClientsExitZeroPromptly) {
    for (const int signal : {SIGTERM, SIGINT}) {
        SCOPED_TRACE(::strsignal(signal));
        TempDir dir;
        ConfigBuilder config;
        config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
        config.service("upper", "upper.upper");
        PorticoProcess host(dir, config.yaml());
        ASSERT_TRUE(host.wait_ready());
        host.send_signal(signal);
        EXPECT_EQ(host.wait_exit(3s), ExitStatus::exited(0));
    }
}

TEST(Shutdown, IdleConnectionIsCutAtTheShutdownTimeout) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    config.service("upper", "upper.upper");
    config.shutdown_timeout("1s");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());

    TcpClient lingering(host.port("upper"));
    lingering.send("hi\n");
    ASSERT_EQ(lingering.read_line(), "HI\n"); // a session is running and will never end by itself
    host.send_signal(SIGTERM);
    EXPECT_EQ(host.wait_exit(5s), ExitStatus::exited(0)) << "shutdown_timeout: 1s was not honoured";
    EXPECT_TRUE(lingering.read_until_closed(1s).has_value()) << "the lingering connection was not closed";
}

} // namespace
} // namespace portico::test
