// admin_page_test.cpp — the status page at / in a real browser: Debian's
// chromium, headless, loads it from a running host; the test saves a
// screenshot and checks that the rendered DOM lists the services, which the
// page can only know by fetching /status with its script.
#include "harness/AdminHost.h"
#include "harness/ChildProcess.h"
#include "harness/Paths.h"
#include "harness/PluginDir.h"
#include "harness/TcpClient.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <iostream>
#include <sstream>

namespace portico::test {
namespace {

std::filesystem::path chromium_binary() {
    for (const char *candidate : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
        if (std::filesystem::exists(candidate)) return candidate;
    return {};
}

// Runs headless chromium on `url` with `mode_args`; returns what it printed.
std::string run_chromium(const std::string &url, std::vector<std::string> mode_args) {
    const auto binary = chromium_binary();
    TempDir profile("portico-chromium");
    std::vector<std::string> args{"--headless",
                                  "--no-sandbox",
                                  "--disable-gpu",
                                  "--disable-dev-shm-usage",
                                  "--disable-background-networking",
                                  "--disable-component-update",
                                  "--disable-sync",
                                  "--no-first-run",
                                  "--hide-scrollbars",
                                  "--window-size=1400,900",
                                  // Lets the page's fetch of /status finish before the DOM is read.
                                  "--virtual-time-budget=10000",
                                  "--user-data-dir=" + profile.path().string()};
    args.insert(args.end(), mode_args.begin(), mode_args.end());
    args.push_back(url);
    ChildProcess chromium(binary, args);
    const ExitStatus status = chromium.wait_exit(90s);
    if (status != ExitStatus::exited(0))
        throw HarnessError("chromium " + url + " did not finish cleanly; its output:\n" + chromium.output());
    return chromium.output();
}

class AdminPage : public ::testing::Test {
  protected:
    void SetUp() override {
        if (chromium_binary().empty())
            FAIL() << "chromium is not installed: the status page test needs Debian's chromium "
                      "(`make deps` installs it, or apt-get install -y chromium)";
    }
};

TEST_F(AdminPage, RendersTheServicesFromStatusInHeadlessChromium) {
    TempDir dir;
    AdminHostSpec spec;
    spec.plugin_dir = make_plugin_dir(dir, {shipped_plugin("upper"), shipped_plugin("echo")});
    spec.services = {{"upper-front", "upper.upper", ""}, {"echo-back", "echo.echo", ""}};
    spec.token = "page-token";
    AdminHost host(dir, spec);
    {
        TcpClient client(host.port("upper-front"));
        EXPECT_EQ(client.round_trip("page\n"), "PAGE\n");
    }
    EXPECT_EQ(host.post("/reload?scope=plugins", "page-token").status, 200); // a row in the reload history

    const auto page = host.get("/");
    ASSERT_EQ(page.status, 200);
    EXPECT_EQ(page.header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(page.body.find("http://"), std::string::npos) << "the page must not load external assets";
    EXPECT_EQ(page.body.find("https://"), std::string::npos) << "the page must not load external assets";

    const std::string url = "http://127.0.0.1:" + std::to_string(host.admin_port()) + "/#token=page-token";
    const std::string dom = run_chromium(url, {"--dump-dom"});
    ASSERT_NE(dom.find("<html"), std::string::npos) << dom;
    EXPECT_NE(dom.find("data-service=\"upper-front\""), std::string::npos) << dom;
    EXPECT_NE(dom.find("data-service=\"echo-back\""), std::string::npos) << dom;
    EXPECT_NE(dom.find("data-plugin=\"upper\""), std::string::npos) << dom;
    EXPECT_NE(dom.find("no plugin file changed"), std::string::npos) << "the reload history is shown: " << dom;
    EXPECT_NE(dom.find(">ready<"), std::string::npos) << dom;
    EXPECT_TRUE(std::regex_search(dom, std::regex(R"(<div id="error"[^>]*></div>)"))) << "the error banner is empty: " << dom;

    const auto screenshot = std::filesystem::current_path() / "admin-status-page.png";
    std::filesystem::remove(screenshot);
    run_chromium(url, {"--screenshot=" + screenshot.string()});
    ASSERT_TRUE(std::filesystem::exists(screenshot)) << "chromium wrote no screenshot";
    std::ifstream png(screenshot, std::ios::binary);
    char magic[8] = {};
    png.read(magic, sizeof magic);
    EXPECT_EQ(std::string(magic, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    EXPECT_GT(std::filesystem::file_size(screenshot), 10'000u) << "a blank page would be tiny";
    RecordProperty("screenshot", screenshot.string());
    std::cout << "status page screenshot: " << screenshot << "\n";
}

TEST_F(AdminPage, ShowsWhyItCannotReadStatusWithoutTheToken) {
    TempDir dir;
    AdminHostSpec spec;
    spec.plugin_dir = make_plugin_dir(dir, {shipped_plugin("upper")});
    spec.services = {{"upper", "upper.upper", ""}};
    spec.token = "page-token";
    AdminHost host(dir, spec);
    const std::string dom = run_chromium("http://127.0.0.1:" + std::to_string(host.admin_port()) + "/", {"--dump-dom"});
    EXPECT_NE(dom.find("401 unauthorized"), std::string::npos) << dom;
    EXPECT_EQ(dom.find("data-service=\"upper\""), std::string::npos) << dom;
}

} // namespace
} // namespace portico::test
