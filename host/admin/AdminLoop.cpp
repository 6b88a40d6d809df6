// AdminLoop.cpp — non-blocking admin connections on a poll(2) loop plus a
// small worker pool. A connection costs a buffer, not a thread, so idle or
// slow clients cannot starve probes; each has a deadline, and at capacity the
// oldest unfinished request is dropped for the newcomer.
#include "admin/AdminLoop.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace portico::host {
namespace {

using Clock = std::chrono::steady_clock;

Poco::Logger &loop_log() {
    return Poco::Logger::get("portico.admin");
}

enum class Phase { reading, working, writing, lingering };

struct AdminConnection {
    int fd = -1;
    std::uint64_t id = 0;
    std::string peer;
    Clock::time_point accepted;
    Clock::time_point deadline; // of the current phase; none while working
    Phase phase = Phase::reading;
    std::string in;
    std::optional<HttpParseResult> parsed; // the head, once complete
    std::string out;
    std::size_t sent = 0;
};

struct Job {
    std::uint64_t id;
    HttpRequestHead head;
    std::string peer;
};

struct Done {
    std::uint64_t id;
    std::string bytes;
};

std::string peer_name(const sockaddr_storage &address) {
    char text[INET6_ADDRSTRLEN] = {};
    if (address.ss_family == AF_INET) {
        const auto &v4 = reinterpret_cast<const sockaddr_in &>(address);
        ::inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
        return std::string(text) + ":" + std::to_string(ntohs(v4.sin_port));
    }
    if (address.ss_family == AF_INET6) {
        const auto &v6 = reinterpret_cast<const sockaddr_in6 &>(address);
        ::inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
        return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6.sin6_port));
    }
    return "unix";
}

std::string error_response(int status, const std::string &reason) {
    return http_response_bytes(status, {{"Content-Type", "text/plain; charset=utf-8"}, {"Cache-Control", "no-store"}},
                               reason + "\n", false);
}

} // namespace

struct AdminLoop::State {
    State(int fd, AdminResponder r, AdminLoopLimits l) : listen_fd(fd), responder(std::move(r)), limits(l) {}

    const int listen_fd;
    const AdminResponder responder;
    const AdminLoopLimits limits;
    int wake_fd = -1;
    std::atomic<bool> stopping{false};
    std::atomic<bool> accepting{true};
    std::thread loop_thread;
    std::vector<std::thread> workers;

    // Loop thread only.
    std::map<std::uint64_t, AdminConnection> connections;
    std::uint64_t next_id = 1;
    Clock::time_point accept_paused_until{};

    // Shared with the workers.
    std::mutex mutex;
    std::condition_variable jobs_ready;
    std::deque<Job> jobs;
    std::vector<Done> done;

    void wake() const {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto n = ::write(wake_fd, &one, sizeof one);
    }

    void close_connection(std::uint64_t id) {
        const auto found = connections.find(id);
        if (found == connections.end()) return;
        ::close(found->second.fd);
        connections.erase(found);
    }

    void answer(AdminConnection &c, std::string bytes) {
        c.out = std::move(bytes);
        c.sent = 0;
        c.phase = Phase::writing;
        c.deadline = Clock::now() + limits.write_timeout;
    }

    // Makes room for one more connection: the unfinished request that has
    // waited longest goes (a slow or idle client), never one being answered.
    bool evict_oldest_reader() {
        auto oldest = connections.end();
        for (auto it = connections.begin(); it != connections.end(); ++it)
            if (it->second.phase == Phase::reading &&
                (oldest == connections.end() || it->second.accepted < oldest->second.accepted))
                oldest = it;
        if (oldest == connections.end()) return false;
        if (loop_log().debug())
            loop_log().debug("admin: at %z connections; closing the oldest unfinished request from %s",
                             connections.size(), oldest->second.peer);
        close_connection(oldest->first);
        return true;
    }

    void accept_all() {
        for (;;) {
            sockaddr_storage address{};
            socklen_t length = sizeof address;
            const int fd =
                ::accept4(listen_fd, reinterpret_cast<sockaddr *>(&address), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED) continue;
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                    // Out of descriptors: free one if a slow client holds it, else retry shortly.
                    if (!evict_oldest_reader()) {
                        loop_log().warning("admin: cannot accept: %s; retrying in 100ms",
                                           std::string(std::strerror(errno)));
                        accept_paused_until = Clock::now() + std::chrono::milliseconds(100);
                        return;
                    }
                    continue;
                }
                return; // EAGAIN: all accepted
            }
            if (connections.size() >= limits.max_connections && !evict_oldest_reader()) {
                ::close(fd); // every slot is being answered; the client retries
                continue;
            }
            AdminConnection c;
            c.fd = fd;
            c.id = next_id++;
            c.peer = peer_name(address);
            c.accepted = Clock::now();
            c.deadline = c.accepted + limits.head_timeout;
            connections.emplace(c.id, std::move(c));
        }
    }

    void dispatch(AdminConnection &c) {
        HttpRequestHead head = c.parsed->head;
        if (responder.is_quick(head)) {
            answer(c, responder.respond(head, c.peer));
            return;
        }
        {
            const std::lock_guard lock(mutex);
            if (jobs.size() < limits.max_pending) {
                jobs.push_back(Job{c.id, std::move(head), c.peer});
                c.phase = Phase::working;
                jobs_ready.notify_one();
                return;
            }
        }
        answer(c, error_response(503, "the admin server is busy: too many requests waiting; retry"));
    }

    // Parses what has arrived; dispatches a complete request.
    void advance(AdminConnection &c) {
        if (!c.parsed) {
            HttpParseResult result = parse_http_request_head(c.in);
            if (result.kind == HttpParseResult::Kind::error) {
                answer(c, error_response(result.status, result.reason));
                return;
            }
            if (result.kind == HttpParseResult::Kind::incomplete) return;
            c.parsed = std::move(result);
            c.deadline = c.accepted + limits.request_timeout;
        }
        if (c.in.size() >= c.parsed->head_size + c.parsed->head.content_length) dispatch(c);
    }

    // false: the connection is gone.
    bool on_readable(AdminConnection &c) {
        char buffer[4096];
        for (;;) {
            const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
            if (n > 0) {
                if (c.phase == Phase::reading) {
                    c.in.append(buffer, static_cast<std::size_t>(n));
                    // Whatever follows the request (a pipelined one) is not read: one request per connection.
                    if (c.in.size() > kAdminMaxHeadBytes + kAdminMaxBodyBytes) break;
                }
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            // A client that half-closes right after its request still gets the answer.
            if (n == 0 && c.phase == Phase::reading) {
                advance(c);
                if (c.phase != Phase::reading) return true;
            }
            close_connection(c.id);
            return false;
        }
        if (c.phase == Phase::reading) advance(c);
        return true;
    }

    bool on_writable(AdminConnection &c) {
        while (c.sent < c.out.size()) {
            const ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
            if (n > 0) {
                c.sent += static_cast<std::size_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
            close_connection(c.id);
            return false;
        }
        // Closing with unread input would reset the connection and could
        // destroy the answer in flight: half-close and let the client close.
        ::shutdown(c.fd, SHUT_WR);
        c.phase = Phase::lingering;
        c.deadline = Clock::now() + limits.linger_timeout;
        return true;
    }

    void collect_done() {
        std::uint64_t count = 0;
        [[maybe_unused]] const auto n = ::read(wake_fd, &count, sizeof count);
        std::vector<Done> finished;
        {
            const std::lock_guard lock(mutex);
            finished.swap(done);
        }
        for (Done &d : finished) {
            const auto found = connections.find(d.id);
            if (found != connections.end()) answer(found->second, std::move(d.bytes));
        }
    }

    void expire(Clock::time_point now) {
        std::vector<std::uint64_t> expired;
        for (auto &[id, c] : connections)
            if (c.phase != Phase::working && now >= c.deadline) expired.push_back(id);
        for (const std::uint64_t id : expired) {
            AdminConnection &c = connections.at(id);
            if (c.phase == Phase::reading) {
                if (loop_log().debug())
                    loop_log().debug("admin: %s did not send a complete request in time; closing", c.peer);
                answer(c, error_response(408, c.parsed ? "the request body did not arrive in time"
                                                       : "the request head did not arrive in time"));
                // One try to tell it why, then it goes at the write deadline like any writer.
                if (!on_writable(c)) continue;
                if (c.phase == Phase::lingering) c.deadline = now + std::chrono::milliseconds(100);
            } else {
                close_connection(id);
            }
        }
    }

    int poll_timeout_ms(Clock::time_point now) const {
        auto next = now + std::chrono::seconds(1);
        for (const auto &[id, c] : connections)
            if (c.phase != Phase::working) next = std::min(next, c.deadline);
        if (accept_paused_until > now) next = std::min(next, accept_paused_until);
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
        return static_cast<int>(std::max<long long>(ms, 0) + 1);
    }

    void run_loop() {
        ::pthread_setname_np(::pthread_self(), "admin-loop");
        std::vector<pollfd> fds;
        std::vector<std::uint64_t> ids;
        while (!stopping.load()) {
            const auto now = Clock::now();
            fds.clear();
            ids.clear();
            fds.push_back({wake_fd, POLLIN, 0});
            fds.push_back({now >= accept_paused_until && accepting.load() ? listen_fd : -1, POLLIN, 0});
            for (const auto &[id, c] : connections) {
                short events = 0;
                // A request being worked on is not read further (its bytes are all in).
                if (c.phase == Phase::reading || c.phase == Phase::lingering) events = POLLIN;
                if (c.phase == Phase::writing) events = POLLOUT;
                fds.push_back({c.fd, events, 0});
                ids.push_back(id);
            }
            const int ready = ::poll(fds.data(), fds.size(), poll_timeout_ms(now));
            if (ready < 0 && errno != EINTR) {
                loop_log().error("admin: poll failed: %s", std::string(std::strerror(errno)));
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                continue;
            }
            if (ready > 0) {
                if (fds[0].revents) collect_done();
                for (std::size_t i = 0; i < ids.size(); ++i) {
                    const short revents = fds[i + 2].revents;
                    if (!revents) continue;
                    const auto found = connections.find(ids[i]);
                    if (found == connections.end()) continue;
                    AdminConnection &c = found->second;
                    if (c.phase == Phase::working) {
                        close_connection(c.id); // reset by the client; the answer has nowhere to go
                    } else if (c.phase == Phase::writing && (revents & (POLLOUT | POLLERR | POLLHUP))) {
                        on_writable(c);
                    } else if (revents & (POLLIN | POLLERR | POLLHUP)) {
                        if (c.phase == Phase::lingering) {
                            char sink[4096];
                            const ssize_t n = ::recv(c.fd, sink, sizeof sink, 0);
                            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) close_connection(c.id);
                        } else if (on_readable(c) && c.phase == Phase::writing) {
                            on_writable(c);
                        }
                    }
                }
                if (fds[1].revents) accept_all();
            }
            expire(Clock::now());
        }
        for (auto &[id, c] : connections)
            ::close(c.fd);
        connections.clear();
    }

    void run_worker(std::size_t index) {
        const std::string name = "admin-work-" + std::to_string(index);
        ::pthread_setname_np(::pthread_self(), name.c_str());
        for (;;) {
            Job job;
            {
                std::unique_lock lock(mutex);
                jobs_ready.wait(lock, [&] { return stopping.load() || !jobs.empty(); });
                if (stopping.load()) return;
                job = std::move(jobs.front());
                jobs.pop_front();
            }
            std::string bytes = responder.respond(job.head, job.peer);
            {
                const std::lock_guard lock(mutex);
                done.push_back(Done{job.id, std::move(bytes)});
            }
            wake();
        }
    }
};

AdminLoop::AdminLoop(int listen_fd, AdminResponder responder, AdminLoopLimits limits)
    : state_(std::make_unique<State>(listen_fd, std::move(responder), limits)) {
    state_->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (state_->wake_fd < 0) throw std::runtime_error(std::string("admin: eventfd: ") + std::strerror(errno));
}

AdminLoop::~AdminLoop() {
    stop();
    ::close(state_->wake_fd);
}

void AdminLoop::start() {
    for (std::size_t i = 0; i < state_->limits.workers; ++i)
        state_->workers.emplace_back([this, i] { state_->run_worker(i); });
    state_->loop_thread = std::thread([this] { state_->run_loop(); });
}

void AdminLoop::stop_accepting() {
    state_->accepting = false;
    state_->wake();
}

void AdminLoop::stop() {
    {
        const std::lock_guard lock(state_->mutex);
        state_->stopping = true;
    }
    state_->jobs_ready.notify_all();
    state_->wake();
    if (state_->loop_thread.joinable()) state_->loop_thread.join();
    for (std::thread &worker : state_->workers)
        if (worker.joinable()) worker.join();
    state_->workers.clear();
}

} // namespace portico::host
