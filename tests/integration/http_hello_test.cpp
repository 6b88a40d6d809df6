// http_hello_test.cpp — the HTTP/1.1 responder as curl and a hand-typed
// request see it: 200 for GET /, keep-alive across requests, 405 for other
// methods, 100 Continue for a client that expects it, 400 and a close for
// what is not HTTP.
#include "harness/ConfigBuilder.h"
#include "harness/ExternalTool.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/PorticoProcess.h"
#include "harness/TcpClient.h"
#include "harness/TempDir.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace portico::test {
namespace {

std::unique_ptr<PorticoProcess> start_http(const TempDir &dir) {
    ConfigBuilder config;
    config.plugin_dir(make_plugin_dir(dir, {shipped_plugin("http_hello")}));
    // As `option`: the YAML escape "\n" must reach the file unquoted.
    config.service("web", "http_hello.http_hello").option("config", R"({body: "Hello from portico!\n"})");
    auto host = std::make_unique<PorticoProcess>(dir, config.yaml());
    if (!host->wait_ready()) throw std::runtime_error("portico did not become ready:\n" + host->log_text());
    return host;
}

ToolResult curl(const std::vector<std::string> &args) {
    static const auto program = require_tool("curl", "curl");
    std::vector<std::string> all{"--silent", "--show-error", "--max-time", "10"};
    all.insert(all.end(), args.begin(), args.end());
    return run_tool(program, all, 15s);
}

// Reads one response's head (up to the empty line) from a raw connection.
std::string read_head(TcpClient &client) {
    std::string head;
    while (auto line = client.read_line()) {
        head += *line;
        if (*line == "\r\n") break;
    }
    return head;
}

TEST(HttpHello, CurlGetsTheBody) {
    TempDir dir;
    auto host = start_http(dir);
    const std::string url = "http://127.0.0.1:" + std::to_string(host->port("web")) + "/";

    const ToolResult get = curl({url});
    ASSERT_EQ(get.status, ExitStatus::exited(0)) << get.describe();
    EXPECT_EQ(get.output, "Hello from portico!\n");

    const ToolResult status = curl({"-o", "/dev/null", "-w", "%{http_code} %{content_type}", url + "elsewhere"});
    EXPECT_EQ(status.output, "404 text/plain; charset=utf-8") << status.describe();

    const ToolResult post = curl({"-o", "/dev/null", "-w", "%{http_code}", "-d", "x=1", url});
    EXPECT_EQ(post.output, "405") << post.describe();

    const ToolResult head = curl({"-I", url});
    EXPECT_NE(head.output.find("HTTP/1.1 200 OK\r\n"), std::string::npos) << head.describe();
    EXPECT_NE(head.output.find("Content-Length: 20\r\n"), std::string::npos) << head.describe();
}

// curl asks "Expect: 100-continue" before a large body and waits up to a
// second for the interim answer; http_hello gives it, so the body goes at once.
TEST(HttpHello, AnswersExpect100ContinueBeforeReadingTheBody) {
    TempDir dir;
    auto host = start_http(dir);
    const std::string url = "http://127.0.0.1:" + std::to_string(host->port("web")) + "/";
    const auto body = dir.write_file("body.bin", std::string(64 * 1024, 'x'));
    // The header is set explicitly: curl's own size threshold for it differs
    // between versions.
    const ToolResult post = curl({"-v", "-H", "Expect: 100-continue", "--data-binary", "@" + body.string(), url});
    ASSERT_EQ(post.status, ExitStatus::exited(0)) << post.describe();
    EXPECT_NE(post.output.find("> Expect: 100-continue"), std::string::npos) << post.output;
    EXPECT_NE(post.output.find("< HTTP/1.1 100 Continue"), std::string::npos) << post.output;
    EXPECT_NE(post.output.find("< HTTP/1.1 405 Method Not Allowed"), std::string::npos) << post.output;
    EXPECT_EQ(post.output.find("Done waiting for 100-continue"), std::string::npos) << post.output;
    // The body was read: the connection stayed usable for curl's next request.
    const ToolResult again =
        curl({"-v", "-H", "Expect: 100-continue", "--data-binary", "@" + body.string(), url, "--next", "-v", url});
    ASSERT_EQ(again.status, ExitStatus::exited(0)) << again.describe();
    EXPECT_NE(again.output.find("Hello from portico!"), std::string::npos) << again.output;
    EXPECT_NE(again.output.find("Re-using existing connection"), std::string::npos) << again.output;
}

TEST(HttpHello, CurlReusesOneConnectionForSeveralRequests) {
    TempDir dir;
    auto host = start_http(dir);
    const std::string url = "http://127.0.0.1:" + std::to_string(host->port("web")) + "/";

    // curl fetches all three URLs over one keep-alive connection and says so.
    const ToolResult run = curl({"-v", url, url, url});
    ASSERT_EQ(run.status, ExitStatus::exited(0)) << run.describe();
    EXPECT_NE(run.output.find("Re-using existing connection"), std::string::npos) << run.describe();
    std::size_t bodies = 0;
    for (std::size_t at = 0; (at = run.output.find("Hello from portico!", at)) != std::string::npos; ++at)
        ++bodies;
    EXPECT_EQ(bodies, 3u) << run.describe();
}

TEST(HttpHello, KeepAliveAndPipelinedRequestsOnARawConnection) {
    TempDir dir;
    auto host = start_http(dir);
    TcpClient client(host->port("web"));

    client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                "DELETE / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde"
                "GET /?q=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string head = read_head(client);
    EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head;
    EXPECT_EQ(head.find("Connection: close"), std::string::npos) << head;
    EXPECT_EQ(client.read_line(), "Hello from portico!\n");

    head = read_head(client);
    EXPECT_EQ(head.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u) << head;
    EXPECT_NE(head.find("Allow: GET, HEAD\r\n"), std::string::npos) << head;
    EXPECT_EQ(client.read_line(), "405 Method Not Allowed\n");

    head = read_head(client);
    EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head;
    EXPECT_EQ(client.read_line(), "Hello from portico!\n");

    client.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    head = read_head(client);
    EXPECT_NE(head.find("Connection: close\r\n"), std::string::npos) << head;
    EXPECT_EQ(client.read_until_eof(), "Hello from portico!\n") << "Connection: close is honoured";
}

TEST(HttpHello, MalformedRequestsGet400AndAClose) {
    TempDir dir;
    auto host = start_http(dir);
    const auto port = host->port("web");

    for (const std::string request :
         {"this is not http\r\n\r\n", "GET /\r\n\r\n", "GET / HTTP/1.1\r\nno colon here\r\n\r\n",
          "GET / HTTP/1.1\r\n\r\n" /* no Host */, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"}) {
        TcpClient client(port);
        client.send(request);
        const auto reply = client.read_until_closed();
        ASSERT_TRUE(reply) << "no close after: " << request;
        EXPECT_EQ(reply->rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << request << " got: " << *reply;
        EXPECT_NE(reply->find("Connection: close\r\n"), std::string::npos) << *reply;
    }
    {
        TcpClient client(port);
        client.send("GET / HTTP/2.0\r\nHost: x\r\n\r\n");
        const auto reply = client.read_until_closed();
        ASSERT_TRUE(reply);
        EXPECT_EQ(reply->rfind("HTTP/1.1 505 ", 0), 0u) << *reply;
    }
    EXPECT_EQ(curl({"http://127.0.0.1:" + std::to_string(port) + "/"}).output, "Hello from portico!\n");
}

} // namespace
} // namespace portico::test
