// admin_access_log_test.cpp — services[].access_log: one line per
// connection with peer, service, handler, plugin version, duration, bytes
// and how it ended, in the text (in both modes) and the JSON-lines log
// formats.
#include "harness/AdminHost.h"
#include "harness/AdminStatus.h"
#include "harness/Deadline.h"
#include "harness/Json.h"
#include "harness/Modes.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/TcpClient.h"

#include <gtest/gtest.h>

#include <csignal>
#include <regex>
#include <string>
#include <thread>

namespace portico::test {
namespace {

// Every service in `mode` (the default, threads, when empty).
AdminHostSpec logged_spec(const TempDir &dir, const std::string &format, const std::string &mode = "") {
    const std::string keys = mode.empty() ? "" : mode_keys(mode);
    AdminHostSpec spec;
    spec.plugin_dir = make_plugin_dir(dir, {shipped_plugin("upper"), shipped_plugin("echo"), test_plugin("throwing")});
    spec.services = {{"upper", "upper.upper", keys + "    access_log: true\n"},
                     {"quiet", "echo.echo", keys},
                     {"sleepy", "echo.echo", keys + "    access_log: true\n    idle_timeout: 300ms\n"},
                     {"shouty", "throwing.boom", keys + "    access_log: true\n"}};
    spec.logging_format = format;
    spec.shutdown_timeout = "500ms";
    return spec;
}

// The tests below run in mode threads and mode events alike
// (Modes/AccessLog.*/threads and …/events); the plain TESTs use the default
// mode, threads.
class AccessLog : public ::testing::TestWithParam<std::string> {};

TEST_P(AccessLog, TextLineForACleanSession) {
    TempDir dir;
    AdminHost host(dir, logged_spec(dir, "text", GetParam()));
    std::uint16_t local_port = 0;
    {
        TcpClient client(host.port("upper"));
        local_port = client.local_port();
        EXPECT_EQ(client.round_trip("hello\n"), "HELLO\n");
    }
    const auto line = host.process().wait_for_log_line({"access service=upper "}, 5s);
    ASSERT_TRUE(line) << host.process().log_text();
    const std::regex shape(
        R"(access service=upper peer=127\.0\.0\.1:(\d+) handler=upper\.upper plugin_version=1\.0\.0 generation=\d+ )"
        R"(duration_ms=\d+\.\d{3} bytes_in=6 bytes_out=6 end=eof)");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(*line, m, shape)) << *line;
    EXPECT_EQ(m[1], std::to_string(local_port));
    EXPECT_NE(line->find("portico.access.upper"), std::string::npos) << "logged under its own logger: " << *line;

    {
        TcpClient client(host.port("quiet"));
        EXPECT_EQ(client.round_trip("x"), "x");
    }
    // The quiet session's end reached its counters, which its thread updates
    // just before it would write an access line; a later upper session's
    // line then shows the log has moved past that point.
    EXPECT_TRUE(wait_until(
        [&] { return service_named(Json::parse(host.get("/status").body), "quiet")["bytes_in"].number() == 1; }, 5s))
        << "the quiet session never ended";
    {
        TcpClient client(host.port("upper"));
        EXPECT_EQ(client.round_trip("again\n"), "AGAIN\n");
    }
    EXPECT_TRUE(wait_until([&] { return host.process().count_log_lines({"access service=upper "}) == 2; }, 5s))
        << host.process().log_text();
    EXPECT_TRUE(lines_containing(host.process().log_text(), {"access service=quiet"}).empty())
        << "access_log is off by default";
}

TEST_P(AccessLog, SaysHowASessionEnded) {
    TempDir dir;
    AdminHost host(dir, logged_spec(dir, "text", GetParam()));
    {
        TcpClient client(host.port("shouty"));
        client.send("boom\n");
        EXPECT_TRUE(client.read_until_closed(5s).has_value());
    }
    const auto error_line = host.process().wait_for_log_line({"access service=shouty", "end="}, 5s);
    ASSERT_TRUE(error_line) << host.process().log_text();
    EXPECT_NE(error_line->find("end=handler_error"), std::string::npos) << *error_line;

    TcpClient idle(host.port("sleepy"));
    EXPECT_TRUE(idle.read_until_closed(5s).has_value()) << "idle_timeout should close it";
    const auto timeout_line = host.process().wait_for_log_line({"access service=sleepy"}, 5s);
    ASSERT_TRUE(timeout_line) << host.process().log_text();
    EXPECT_NE(timeout_line->find("end=timeout"), std::string::npos) << *timeout_line;
    EXPECT_NE(timeout_line->find("peer=127.0.0.1:" + std::to_string(idle.local_port())), std::string::npos)
        << *timeout_line;

    TcpClient lingering(host.port("upper"));
    lingering.send("a\n");
    EXPECT_EQ(lingering.read_line(), "A\n");
    host.process().send_signal(SIGTERM); // shutdown_timeout 500ms, then the host closes it
    const auto host_line = host.process().wait_for_log_line({"access service=upper"}, 10s);
    ASSERT_TRUE(host_line) << host.process().log_text();
    EXPECT_NE(host_line->find("end=closed_by_host"), std::string::npos) << *host_line;
    EXPECT_NE(host_line->find("bytes_in=2 bytes_out=2"), std::string::npos) << *host_line;
}

INSTANTIATE_TEST_SUITE_P(Modes, AccessLog, ::testing::Values("threads", "events"),
                         [](const auto &info) { return info.param; });

TEST(AccessLog, JsonLinesCarryTheFieldsAsAnObject) {
    TempDir dir;
    AdminHost host(dir, logged_spec(dir, "json"));
    {
        TcpClient client(host.port("upper"));
        EXPECT_EQ(client.round_trip("json\n"), "JSON\n");
    }
    const auto line = host.process().wait_for_log_line({"\"logger\":\"portico.access.upper\""}, 5s);
    ASSERT_TRUE(line) << host.process().log_text();
    const Json record = Json::parse(*line);
    EXPECT_EQ(record["level"].string(), "information");
    const Json &fields = record["fields"];
    EXPECT_EQ(fields["service"].string(), "upper");
    EXPECT_EQ(fields["handler"].string(), "upper.upper");
    EXPECT_EQ(fields["plugin_version"].string(), "1.0.0");
    EXPECT_EQ(fields["bytes_in"].number(), 5);
    EXPECT_EQ(fields["bytes_out"].number(), 5);
    EXPECT_EQ(fields["end"].string(), "eof");
    EXPECT_GE(fields["duration_ms"].number(), 0);
    EXPECT_TRUE(std::regex_match(fields["peer"].string(), std::regex(R"(127\.0\.0\.1:\d+)")));
}

} // namespace
} // namespace portico::test
