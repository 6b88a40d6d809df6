// events_access_log_test.cpp — `access_log: true` on a `mode: events`
// service: the same one line per connection as in mode threads, with the
// bytes and how the session ended.
#include "harness/ConfigBuilder.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace portico::test {
namespace {

TEST(EventsAccessLog, OneLinePerSessionSayingHowItEnded) {
    TempDir dir;
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("upper")}));
    config.service("upper", "upper.upper").events(1).option("access_log", "true");
    config.service("sleepy", "upper.upper").events(1).option("access_log", "true").option("idle_timeout", "300ms");
    PorticoProcess host(dir, config.yaml());
    ASSERT_TRUE(host.wait_ready());

    std::uint16_t local_port = 0;
    {
        TcpClient client(host.port("upper"));
        local_port = client.local_port();
        EXPECT_EQ(client.round_trip("hello\n"), "HELLO\n");
    }
    const auto line = host.wait_for_log_line({"access service=upper "}, 5s);
    ASSERT_TRUE(line);
    const std::regex shape(
        R"(access service=upper peer=127\.0\.0\.1:(\d+) handler=upper\.upper plugin_version=1\.0\.0 generation=\d+ )"
        R"(duration_ms=\d+\.\d{3} bytes_in=6 bytes_out=6 end=eof)");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(*line, m, shape)) << *line;
    EXPECT_EQ(m[1], std::to_string(local_port));

    TcpClient idle(host.port("sleepy"));
    EXPECT_TRUE(idle.read_until_closed(5s).has_value()) << "idle_timeout should close it";
    const auto timeout_line = host.wait_for_log_line({"access service=sleepy"}, 5s);
    ASSERT_TRUE(timeout_line);
    EXPECT_NE(timeout_line->find("end=timeout"), std::string::npos) << *timeout_line;
    EXPECT_NE(timeout_line->find("peer=127.0.0.1:" + std::to_string(idle.local_port())), std::string::npos)
        << *timeout_line;
}

} // namespace
} // namespace portico::test
