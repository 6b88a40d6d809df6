// socketserver — the handlers of Python socketserver's classic examples, byte
// for byte: each reads what arrived (one read of up to 1024 bytes, like
// `self.request.recv(1024)`) unless the example reads a line, and answers
// with one write, so a client that calls recv once gets the whole reply.
//
//   upper_once       one read, strip(), upper-case, reply, close (the TCPServer
//                    upper-case example)
//   upper_slow       the same with its threaded variant's "slow task": a
//                    `delay_ms` sleep before the reply (blocks: not mode events)
//   upper_line       one line, strip(), upper-case, reply without '\n', close
//                    (the same example on StreamRequestHandler's rfile/wfile)
//   threadname_once  one read, reply "<thread name>: <what arrived>", close
//                    (the ThreadingMixIn example)
//   upper_loop       read, strip(), upper-case, reply, until the client closes
//                    (the interactive upper-case loop)
//   echo_lines       every line back as it came, until the client closes
//                    (the StreamRequestHandler echo)
//   udp_upper        a datagram in, strip()ped and upper-cased back (UDPServer)
//
// docs/socketserver.md maps every example to its handler and service.
#include "portico/portico.hpp"

#include <pthread.h>

#include <cctype>
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

namespace {

// What `recv(1024)` asks for in every example.
constexpr std::size_t kRecvSize = 1024;

// Python's bytes.strip(): ASCII whitespace off both ends.
std::string_view strip(std::string_view text) {
    const auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!text.empty() && space(text.front()))
        text.remove_prefix(1);
    while (!text.empty() && space(text.back()))
        text.remove_suffix(1);
    return text;
}

std::string upper(std::string_view text) {
    std::string out(text);
    for (char &c : out)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

// The example's server thread sleeps this long before answering, so that
// several clients visibly overlap (0: no sleep). Blocks a worker: mode threads.
class SlowTask : public portico::ServiceContext {
public:
    void open() override {
        const std::string text = config("delay_ms", "0");
        const bool digits =
            !text.empty() && text.size() <= 7 && text.find_first_not_of("0123456789") == std::string::npos;
        if (!digits)
            throw std::invalid_argument("config delay_ms: '" + text +
                                        "' is not a whole number of milliseconds (0 to 9999999); set e.g. "
                                        "delay_ms: 2000");
        delay_ = std::chrono::milliseconds(std::stol(text));
    }
    std::chrono::milliseconds delay() const { return delay_; }

private:
    std::chrono::milliseconds delay_{0};
};

class UpperOnce : public portico::StreamHandler {
    void handle() override {
        const std::string data = stream().read(kRecvSize);
        stream().write_all(upper(strip(data)));
    }
};

class UpperSlow : public portico::BasicStreamHandler<SlowTask> {
public:
    // It sleeps on its thread: mode threads (or single, process) only.
    static constexpr bool may_block = true;

private:
    void handle() override {
        const std::string data = stream().read(kRecvSize);
        if (context().delay().count() > 0) std::this_thread::sleep_for(context().delay());
        stream().write_all(upper(strip(data)));
    }
};

class UpperLine : public portico::StreamHandler {
    void handle() override {
        if (const auto line = stream().read_line()) stream().write_all(upper(strip(*line)));
    }
};

class ThreadNameOnce : public portico::StreamHandler {
    void handle() override {
        const std::string data = stream().read(kRecvSize);
        char name[32] = "?";
        pthread_getname_np(pthread_self(), name, sizeof name);
        stream().write_all(std::string(name) + ": " + data);
    }
};

// An empty reply is no write at all, as `sendall(b"")` sends nothing; the
// example's loop never ends, this one stops when the client closes.
class UpperLoop : public portico::StreamHandler {
    void handle() override {
        char buf[kRecvSize];
        while (const std::size_t n = stream().read(buf, sizeof buf)) {
            const std::string reply = upper(strip({buf, n}));
            if (!reply.empty()) stream().write_all(reply);
        }
    }
};

class EchoLines : public portico::StreamHandler {
    void handle() override {
        while (const auto line = stream().read_line())
            stream().write_all(*line);
    }
};

class UdpUpper : public portico::DatagramHandler {
    void handle(portico::Datagram &datagram) override { datagram.reply(upper(strip(datagram.data()))); }
};

} // namespace

PORTICO_PLUGIN("socketserver", "1.0.0", reg) {
    reg.stream<UpperOnce>("upper_once");
    reg.stream<UpperSlow>("upper_slow");
    reg.stream<UpperLine>("upper_line");
    reg.stream<ThreadNameOnce>("threadname_once");
    reg.stream<UpperLoop>("upper_loop");
    reg.stream<EchoLines>("echo_lines");
    reg.datagram<UdpUpper>("udp_upper");
}
