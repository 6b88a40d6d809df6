// ProxyHeaderHaproxyTest.cpp — the parser against what a real haproxy sends:
// haproxy relays a client to a local listener with send-proxy / send-proxy-v2
// (plus CRC32c and UNIQUE_ID TLVs) and health-checks it, and the captured
// bytes must parse to the client's real addresses (and checks to LOCAL in v2).
#include "net/ProxyHeader.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern char **environ;

using namespace portico::host;
using Status = ProxyParse::Status;

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto patience = std::chrono::seconds(20);

class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(Fd &&other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd &operator=(Fd &&other) noexcept {
        std::swap(fd_, other.fd_);
        return *this;
    }
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }

private:
    int fd_;
};

sockaddr_in loopback(uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

uint16_t local_port(int fd) {
    sockaddr_in address{};
    socklen_t length = sizeof address;
    if (::getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length) != 0) return 0;
    return ntohs(address.sin_port);
}

// A listener on 127.0.0.1, ephemeral port; `inheritable` keeps it open
// across exec so haproxy can take it over as "fd@N".
Fd listener(bool inheritable) {
    Fd fd(::socket(AF_INET, SOCK_STREAM | (inheritable ? 0 : SOCK_CLOEXEC), 0));
    const sockaddr_in address = loopback(0);
    if (fd.get() < 0 || ::bind(fd.get(), reinterpret_cast<const sockaddr *>(&address), sizeof address) != 0 ||
        ::listen(fd.get(), 16) != 0)
        return Fd();
    return fd;
}

bool wait_readable(int fd, Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd entry{fd, POLLIN, 0};
    return ::poll(&entry, 1, static_cast<int>(left)) == 1;
}

class Haproxy {
public:
    Haproxy(const std::string &config, const std::filesystem::path &dir) : log_(dir / "haproxy.log") {
        const auto config_path = dir / "haproxy.cfg";
        std::ofstream(config_path) << config;
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        const std::string config_arg = config_path.string();
        std::vector<char *> argv = {const_cast<char *>("haproxy"), const_cast<char *>("-db"), const_cast<char *>("-f"),
                                    const_cast<char *>(config_arg.c_str()), nullptr};
        if (posix_spawnp(&pid_, "haproxy", &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&actions);
    }
    ~Haproxy() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
    }
    bool started() const { return pid_ > 0; }
    std::string log() const {
        std::ifstream in(log_);
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }

private:
    std::filesystem::path log_;
    pid_t pid_ = -1;
};

struct Capture {
    ProxyParse parse;
    std::string after; // the bytes that followed the header
};

// Reads one accepted connection until the header is decided and, for a
// relayed one, `payload` has followed it (or the peer closed).
Capture read_connection(int fd, const std::string &payload, Clock::time_point deadline) {
    Capture capture;
    std::string buffer;
    char chunk[4096];
    for (;;) {
        if (!wait_readable(fd, deadline)) break;
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) break;
        buffer.append(chunk, static_cast<std::size_t>(n));
        capture.parse = parse_proxy_header(buffer);
        if (capture.parse.status == Status::invalid) break;
        if (capture.parse.status == Status::complete) {
            capture.after = buffer.substr(capture.parse.consumed);
            const bool relayed = capture.parse.header.command == ProxyCommand::proxy &&
                                 capture.parse.header.family != ProxyFamily::unknown;
            if (!relayed || capture.after.size() >= payload.size()) break;
        }
    }
    return capture;
}

void relay_through_haproxy(const std::string &server_options, int version) {
    if (std::system("command -v haproxy >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "haproxy is not installed (Debian package haproxy; `make deps` installs it)";
    const Fd backend = listener(false);
    const Fd frontend = listener(true);
    ASSERT_GE(backend.get(), 0);
    ASSERT_GE(frontend.get(), 0);
    const auto dir = std::filesystem::temp_directory_path() /
                     ("portico-haproxy-" + std::to_string(::getpid()) + "-" + std::to_string(version));
    std::filesystem::create_directories(dir);
    const std::string config = "global\n  maxconn 64\n"
                               "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 20s\n"
                               "  timeout server 20s\n"
                               "frontend in\n  bind fd@" +
                               std::to_string(frontend.get()) +
                               "\n  unique-id-format pp-%cp\n  default_backend out\n"
                               "backend out\n  server app 127.0.0.1:" +
                               std::to_string(local_port(backend.get())) + " " + server_options +
                               " check inter 200ms\n";
    const Haproxy haproxy(config, dir);
    ASSERT_TRUE(haproxy.started());

    Fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const sockaddr_in to = loopback(local_port(frontend.get()));
    ASSERT_EQ(::connect(client.get(), reinterpret_cast<const sockaddr *>(&to), sizeof to), 0);
    const std::string payload = "hello through haproxy\n";
    ASSERT_EQ(::send(client.get(), payload.data(), payload.size(), MSG_NOSIGNAL), static_cast<ssize_t>(payload.size()));
    const uint16_t client_port = local_port(client.get());

    // haproxy's health checks arrive too: LOCAL in v2, TCP4 with their own addresses in v1.
    bool relayed = false, checked = false;
    const auto deadline = Clock::now() + patience;
    while (!(relayed && checked) && wait_readable(backend.get(), deadline)) {
        const Fd connection(::accept4(backend.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (connection.get() < 0) continue;
        const Capture capture = read_connection(connection.get(), payload, deadline);
        ASSERT_NE(capture.parse.status, Status::invalid) << capture.parse.error << "\n" << haproxy.log();
        if (capture.parse.status != Status::complete) continue; // a check closed before its header: not decided
        const ProxyHeader &header = capture.parse.header;
        EXPECT_EQ(header.version, version);
        if (header.family == ProxyFamily::unknown) {
            EXPECT_EQ(header.command, ProxyCommand::local); // v2's health checks
            checked = true;
            continue;
        }
        EXPECT_EQ(header.command, ProxyCommand::proxy);
        EXPECT_EQ(header.family, ProxyFamily::tcp4);
        if (header.source->port() != client_port) {
            // v1 has no LOCAL: its health checks carry the check connection's own addresses.
            EXPECT_EQ(version, 1) << header.source->toString();
            EXPECT_EQ(header.destination->toString(), "127.0.0.1:" + std::to_string(local_port(backend.get())));
            checked = true;
            continue;
        }
        relayed = true;
        EXPECT_EQ(header.source->toString(), "127.0.0.1:" + std::to_string(client_port));
        EXPECT_EQ(header.destination->toString(), "127.0.0.1:" + std::to_string(local_port(frontend.get())));
        EXPECT_EQ(capture.after, payload);
        if (version == 2) {
            EXPECT_TRUE(header.crc32c_verified);
            EXPECT_EQ(header.unique_id, "pp-" + std::to_string(client_port));
        }
    }
    EXPECT_TRUE(relayed) << "no relayed connection within the deadline; haproxy said:\n" << haproxy.log();
    EXPECT_TRUE(checked) << "no health check within the deadline; haproxy said:\n" << haproxy.log();
    std::filesystem::remove_all(dir);
}

TEST(ProxyHeaderHaproxy, ParsesWhatHaproxySendsAsV1) {
    relay_through_haproxy("send-proxy", 1);
}

TEST(ProxyHeaderHaproxy, ParsesWhatHaproxySendsAsV2WithCrcAndUniqueId) {
    relay_through_haproxy("send-proxy-v2 proxy-v2-options crc32c,unique-id", 2);
}

} // namespace
