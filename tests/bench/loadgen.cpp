// loadgen — a closed-loop TCP load generator on one epoll thread: N
// connections, each keeping `depth` fixed-size requests in flight, every reply
// checked byte for byte against what was sent (echo), latency histogram.
// Prints a human summary and one JSON line (`RESULT {...}`) for run_bench.py.
//
//   loadgen --port P [--host 127.0.0.1] [--connections N] [--depth D]
//           [--size BYTES] [--mode echo|line] [--seconds T] [--warmup T]
//
// A connection "never served" is one that got no complete reply during the
// run: refused, reset, or left waiting in a server's queue the whole time.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string host = "127.0.0.1";
    int port = 0;
    int connections = 64;
    int depth = 1;
    std::size_t size = 64;
    bool line = false;
    double seconds = 5;
    double warmup = 0.5;
};

[[noreturn]] void usage(const char *why) {
    std::fprintf(stderr,
                 "loadgen: %s\nusage: loadgen --port P [--host ADDR] [--connections N] [--depth D] "
                 "[--size BYTES] [--mode echo|line] [--seconds T] [--warmup T]\n",
                 why);
    std::exit(2);
}

Options parse(int argc, char **argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (i + 1 >= argc) usage(("missing value for " + arg).c_str());
        const char *v = argv[++i];
        if (arg == "--host") o.host = v;
        else if (arg == "--port") o.port = std::atoi(v);
        else if (arg == "--connections") o.connections = std::atoi(v);
        else if (arg == "--depth") o.depth = std::atoi(v);
        else if (arg == "--size") o.size = static_cast<std::size_t>(std::atol(v));
        else if (arg == "--mode") o.line = std::string(v) == "line";
        else if (arg == "--seconds") o.seconds = std::atof(v);
        else if (arg == "--warmup") o.warmup = std::atof(v);
        else usage(("unknown option " + arg).c_str());
    }
    if (o.port <= 0 || o.port > 65535) usage("--port is required");
    if (o.connections < 1 || o.depth < 1 || o.size < 2 || o.seconds <= 0 || o.warmup < 0)
        usage("connections, depth, seconds must be positive; size at least 2");
    return o;
}

// Log-linear histogram of microseconds: 32 sub-buckets per power of two
// (under 3% error), enough for percentiles without keeping every sample.
class Histogram {
public:
    void record(uint64_t us) {
        ++counts_[index(us)];
        ++total_;
    }
    uint64_t total() const { return total_; }
    double percentile(double p) const {
        if (total_ == 0) return 0;
        const auto want = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(total_)));
        uint64_t seen = 0;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen >= std::max<uint64_t>(want, 1)) return static_cast<double>(upper(i));
        }
        return static_cast<double>(upper(counts_.size() - 1));
    }
    void clear() { *this = Histogram{}; }

private:
    static constexpr int sub_bits = 5;
    static constexpr uint64_t sub = 1u << sub_bits;
    static std::size_t index(uint64_t v) {
        if (v < sub) return static_cast<std::size_t>(v);
        const int msb = 63 - __builtin_clzll(v);
        const int shift = msb - sub_bits;
        const uint64_t mantissa = (v >> shift) - sub; // 0..sub-1
        return static_cast<std::size_t>(sub + static_cast<uint64_t>(shift) * sub + mantissa);
    }
    static uint64_t upper(std::size_t i) {
        if (i < sub) return i;
        const uint64_t shift = (i - sub) / sub;
        const uint64_t mantissa = (i - sub) % sub;
        return ((sub + mantissa + 1) << shift) - 1;
    }
    std::array<uint64_t, sub + 40 * sub> counts_{};
    uint64_t total_ = 0;
};

struct Conn {
    int fd = -1;
    bool connected = false;
    bool dead = false;
    bool served = false;
    uint64_t next_seq = 0;          // sequence number of the next request to send
    uint64_t reply_seq = 0;         // sequence number of the reply being received
    std::size_t reply_got = 0;      // bytes of that reply received so far
    std::string out;                // bytes not yet accepted by send()
    std::deque<Clock::time_point> sent_at; // one per request in flight
};

// Request `seq` on a connection: printable bytes derived from seq, so a
// reply from another request or connection (or a shifted stream) differs.
char request_byte(uint64_t seq, std::size_t i, std::size_t size, bool line) {
    if (line && i + 1 == size) return '\n';
    static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    return alphabet[(seq * 131 + i * 7 + (seq >> 6)) % (sizeof alphabet - 1)];
}

class LoadGen {
public:
    explicit LoadGen(const Options &o) : o_(o), conns_(static_cast<std::size_t>(o.connections)) {
        epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (epfd_ < 0) fail("epoll_create1");
        addr_.sin_family = AF_INET;
        addr_.sin_port = htons(static_cast<uint16_t>(o.port));
        if (::inet_pton(AF_INET, o.host.c_str(), &addr_.sin_addr) != 1) usage("--host must be an IPv4 address");
    }

    int run() {
        for (std::size_t i = 0; i < conns_.size(); ++i) open(i);
        const auto start = Clock::now();
        const auto measure_from = start + to_duration(o_.warmup);
        const auto end = measure_from + to_duration(o_.seconds);
        bool measuring = o_.warmup == 0;
        std::vector<epoll_event> events(512);
        for (;;) {
            const auto now = Clock::now();
            if (!measuring && now >= measure_from) {
                measuring = true;
                hist_.clear();
                replies_ = 0;
            }
            if (now >= end) break;
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - now).count();
            const int n = ::epoll_wait(epfd_, events.data(), static_cast<int>(events.size()),
                                       static_cast<int>(std::clamp<long long>(left, 1, 100)));
            if (n < 0 && errno != EINTR) fail("epoll_wait");
            for (int k = 0; k < n; ++k) handle(events[static_cast<std::size_t>(k)]);
        }
        report(o_.seconds);
        for (Conn &c : conns_)
            if (c.fd >= 0) ::close(c.fd);
        return 0;
    }

private:
    static Clock::duration to_duration(double s) {
        return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
    }
    [[noreturn]] static void fail(const char *what) {
        std::fprintf(stderr, "loadgen: %s: %s\n", what, std::strerror(errno));
        std::exit(1);
    }

    void open(std::size_t i) {
        Conn &c = conns_[i];
        c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c.fd < 0) fail("socket");
        const int one = 1;
        ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        const int rc = ::connect(c.fd, reinterpret_cast<const sockaddr *>(&addr_), sizeof addr_);
        if (rc < 0 && errno != EINPROGRESS) {
            ++connect_errors_;
            kill(c);
            return;
        }
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
        ev.data.u64 = i;
        if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev) < 0) fail("epoll_ctl");
    }

    void kill(Conn &c) {
        if (c.fd >= 0) ::close(c.fd);
        c.fd = -1;
        c.dead = true;
    }

    void want_write(Conn &c, std::size_t i, bool on) {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u);
        ev.data.u64 = i;
        ::epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
    }

    void queue_request(Conn &c) {
        const uint64_t seq = c.next_seq++;
        for (std::size_t i = 0; i < o_.size; ++i) c.out.push_back(request_byte(seq, i, o_.size, o_.line));
        c.sent_at.push_back(Clock::now());
    }

    // Sends what is queued; returns false when the connection failed.
    bool flush(Conn &c, std::size_t i) {
        std::size_t off = 0;
        while (off < c.out.size()) {
            const ssize_t n = ::send(c.fd, c.out.data() + off, c.out.size() - off, MSG_NOSIGNAL);
            if (n > 0) {
                off += static_cast<std::size_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            return false;
        }
        c.out.erase(0, off);
        want_write(c, i, !c.out.empty());
        return true;
    }

    void handle(const epoll_event &ev) {
        const std::size_t i = ev.data.u64;
        Conn &c = conns_[i];
        if (c.dead) return;
        if (!c.connected) {
            int err = 0;
            socklen_t len = sizeof err;
            ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0) {
                ++connect_errors_;
                kill(c);
                return;
            }
            if (!(ev.events & (EPOLLOUT | EPOLLIN))) return;
            c.connected = true;
            for (int d = 0; d < o_.depth; ++d) queue_request(c);
            if (!flush(c, i)) return lose(c);
        } else if ((ev.events & EPOLLOUT) && !c.out.empty() && !flush(c, i)) {
            return lose(c);
        }
        if (ev.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) receive(c, i);
    }

    void lose(Conn &c) {
        ++io_errors_;
        kill(c);
    }

    void receive(Conn &c, std::size_t i) {
        char buf[64 * 1024];
        for (;;) {
            const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
            if (n == 0) return lose(c); // closed by the server with requests in flight
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                return lose(c);
            }
            if (!consume(c, buf, static_cast<std::size_t>(n))) {
                ++mismatched_;
                kill(c);
                return;
            }
            if (static_cast<std::size_t>(n) < sizeof buf) break;
        }
        if (!c.out.empty() && !flush(c, i)) lose(c);
    }

    // Checks received bytes against the expected replies; completes requests.
    bool consume(Conn &c, const char *p, std::size_t n) {
        for (std::size_t k = 0; k < n; ++k) {
            if (c.sent_at.empty()) return false; // a byte nobody asked for
            if (p[k] != request_byte(c.reply_seq, c.reply_got, o_.size, o_.line)) return false;
            if (++c.reply_got < o_.size) continue;
            const auto now = Clock::now();
            hist_.record(static_cast<uint64_t>(
                std::chrono::duration_cast<std::chrono::microseconds>(now - c.sent_at.front()).count()));
            c.sent_at.pop_front();
            c.reply_got = 0;
            ++c.reply_seq;
            ++replies_;
            ++all_replies_;
            c.served = true;
            queue_request(c);
        }
        return true;
    }

    void report(double seconds) const {
        uint64_t unserved = 0;
        for (const Conn &c : conns_)
            if (!c.served) ++unserved;
        const double rps = static_cast<double>(replies_) / seconds;
        const double p50 = hist_.percentile(50), p99 = hist_.percentile(99), p999 = hist_.percentile(99.9);
        std::printf("%d connections, depth %d, %zu-byte %s requests, %.1f s: %.0f requests/s, latency p50 %.0f us, "
                    "p99 %.0f us, p99.9 %.0f us; errors %lu (connect %lu), mismatched %lu, never served %lu\n",
                    o_.connections, o_.depth, o_.size, o_.line ? "line" : "echo", seconds, rps, p50, p99, p999,
                    static_cast<unsigned long>(connect_errors_ + io_errors_),
                    static_cast<unsigned long>(connect_errors_), static_cast<unsigned long>(mismatched_),
                    static_cast<unsigned long>(unserved));
        std::printf("RESULT {\"connections\": %d, \"depth\": %d, \"size\": %zu, \"seconds\": %.3f, "
                    "\"requests\": %lu, \"total_requests\": %lu, \"rps\": %.1f, \"p50_us\": %.0f, \"p99_us\": %.0f, \"p999_us\": %.0f, "
                    "\"errors\": %lu, \"connect_errors\": %lu, \"mismatched\": %lu, \"unserved\": %lu}\n",
                    o_.connections, o_.depth, o_.size, seconds, static_cast<unsigned long>(replies_),
                    static_cast<unsigned long>(all_replies_), rps, p50, p99,
                    p999, static_cast<unsigned long>(connect_errors_ + io_errors_),
                    static_cast<unsigned long>(connect_errors_), static_cast<unsigned long>(mismatched_),
                    static_cast<unsigned long>(unserved));
    }

    Options o_;
    std::vector<Conn> conns_;
    int epfd_ = -1;
    sockaddr_in addr_{};
    Histogram hist_;
    uint64_t replies_ = 0;     // in the measured window
    uint64_t all_replies_ = 0; // warm-up included (for CPU per request)
    uint64_t connect_errors_ = 0;
    uint64_t io_errors_ = 0;
    uint64_t mismatched_ = 0;
};

} // namespace

int main(int argc, char **argv) {
    const Options options = parse(argc, argv);
    return LoadGen(options).run();
}
