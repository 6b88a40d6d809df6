// Test plugin "hooks": each SDK minor 2 hook, observable from a client.
//   hooks.guarded — verify_request refuses peers other than 127.0.0.1 with
//                   "refused: PEER\n"; serves the others as an echo.
//   hooks.hooked  — by lines: "throw TEXT" throws hooks_test::Failure(TEXT),
//                   whose handle_error answers "error hook: TYPE: TEXT\n";
//                   "wait" reads again, and a read timeout calls
//                   handle_timeout, which answers "timeout hook\n";
//                   anything else is echoed.
//   hooks.sleepy  — declares may_block (it sleeps): refused in mode events.
#include "portico/portico.hpp"

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

namespace hooks_test {

struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The rule: only 127.0.0.1 is served; another source (the tests connect
// from 127.0.0.2) is told why and refused.
struct OnlyLoopbackOne : portico::ServiceContext {
    portico::Verdict verify_request(const std::string &peer, const std::string &local) override {
        if (peer.rfind("127.0.0.1:", 0) != 0) return portico::Verdict::refuse("refused: " + peer + "\n");
        log(portico::LogLevel::info, "verify_request accepted " + peer + " on " + local);
        return portico::Verdict::accept();
    }
};

class Guarded : public portico::BasicStreamHandler<OnlyLoopbackOne> {
    void handle() override {
        while (auto line = stream().read_line())
            stream().write_all(*line);
    }
};

class Hooked : public portico::StreamHandler {
    void handle() override {
        while (auto line = stream().read_line()) {
            std::string text(*line);
            if (!text.empty() && text.back() == '\n') text.pop_back();
            if (text.rfind("throw ", 0) == 0) throw Failure(text.substr(6));
            if (text == "wait") continue; // the next read_line times out
            stream().write_all(text + "\n");
        }
    }
    void handle_error(std::string_view type, std::string_view what) override {
        stream().write_all("error hook: " + std::string(type) + ": " + std::string(what) + "\n");
        stream().log(portico::LogLevel::warning, "error hook saw " + std::string(type) + ": " + std::string(what));
    }
    void handle_timeout() override {
        stream().write_all("timeout hook\n");
        stream().log(portico::LogLevel::warning, "timeout hook called");
    }
};

class Sleepy : public portico::StreamHandler {
public:
    static constexpr bool may_block = true;

private:
    void handle() override {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        stream().write_all("slept\n");
    }
};

} // namespace hooks_test

PORTICO_PLUGIN("hooks", "1.0", reg) {
    reg.stream<hooks_test::Guarded>("guarded");
    reg.stream<hooks_test::Hooked>("hooked");
    reg.stream<hooks_test::Sleepy>("sleepy");
}
