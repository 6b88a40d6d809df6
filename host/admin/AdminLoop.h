// AdminLoop.h — the admin server's connections on one poll(2) thread: reads
// request heads and bodies without tying a thread to a connection, enforces a
// deadline per request, and answers quick requests (probes) on the loop while
// slow ones (status, metrics, reload) run on a few worker threads.
#pragma once

#include "admin/AdminHttp.h"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace portico::host {

struct AdminLoopLimits {
    // At this many open connections, the one that has waited longest for its
    // request is closed to make room for a new one.
    std::size_t max_connections = 512;
    // From accept to the end of the request head, and to the end of the body.
    std::chrono::milliseconds head_timeout{5000};
    std::chrono::milliseconds request_timeout{10000};
    // To send the answer, and to wait for the client's close afterwards.
    std::chrono::milliseconds write_timeout{10000};
    std::chrono::milliseconds linger_timeout{2000};
    std::size_t workers = 2;
    std::size_t max_pending = 64; // slow requests waiting for a worker; beyond: 503
};

struct AdminResponder {
    // Whether `head` is answered on the loop thread (cheap, never blocks).
    std::function<bool(const HttpRequestHead &head)> is_quick;
    // The complete response bytes for `head` from `peer`; must not throw.
    std::function<std::string(const HttpRequestHead &head, const std::string &peer)> respond;
};

class AdminLoop {
public:
    // `listen_fd` is a bound, listening socket the caller keeps open until stop().
    AdminLoop(int listen_fd, AdminResponder responder, AdminLoopLimits limits = {});
    ~AdminLoop();
    AdminLoop(const AdminLoop &) = delete;
    AdminLoop &operator=(const AdminLoop &) = delete;

    void start();
    // Takes no new connection from now on; those open are answered as
    // usual. Safe from a worker (the upgrade request stops its own server).
    void stop_accepting();
    // Closes every connection and joins the threads (a running request finishes first).
    void stop();

private:
    struct State;
    std::unique_ptr<State> state_;
};

} // namespace portico::host
