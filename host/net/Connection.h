// Connection.h — what a plugin's `portico_conn *` points at: one accepted TCP
// socket with the host's read buffer, its timeouts and byte counters. All
// socket I/O a stream handler does goes through here.
#pragma once

#include "net/IoWait.h"
#include "net/ServiceHandle.h"
#include "net/Transport.h"
#include "portico/portico.h"

#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace portico::host {

struct ConnectionLimits {
    std::chrono::milliseconds read_timeout{60'000};
    std::chrono::milliseconds idle_timeout{300'000};
    std::size_t max_line = 64 * 1024;
};

} // namespace portico::host

struct portico_conn {
public:
    // With `tls`, the connection is TLS: handshake() must succeed before any I/O.
    // `wait`: how to wait for the socket (mode events: the session's fiber);
    // nullptr waits on the calling thread (poll, or a blocking recv/send).
    portico_conn(const Poco::Net::StreamSocket &socket, portico_service &service,
                 const portico::host::ConnectionLimits &limits,
                 std::shared_ptr<const portico::host::TlsContext> tls = nullptr, portico::host::IoWait *wait = nullptr);
    portico_conn(const portico_conn &) = delete;
    portico_conn &operator=(const portico_conn &) = delete;

    int64_t read(void *buf, size_t cap, int32_t timeout_ms);
    int64_t read_line(const char **line, int32_t timeout_ms);
    int write_all(const void *data, size_t len);
    void close();
    // Called by the host (another thread) to end the session: wakes a
    // blocked read, which then reports PORTICO_ERR_STOPPING.
    void force_close();
    void set_read_timeout(int32_t timeout_ms);
    // The TLS handshake, on the session's worker, within min(read_timeout,
    // idle_timeout) in all (a stalled or dribbling client is cut). PORTICO_OK
    // at once for a plain connection; else `error` says why it failed.
    int handshake(std::string &error);
    bool is_tls() const { return transport_->is_tls(); }
    // The verified client certificate's subject; "" when none (or plain).
    std::string peer_subject() const { return transport_->peer_subject(); }

    portico_service &service() const { return service_; }
    const std::string &peer() const { return peer_; }
    const std::string &local() const { return local_; }
    // The load balancer's address when a PROXY header named the client
    // (peer() is then the client); "" otherwise.
    const std::string &proxy() const { return proxy_; }
    // PROXY protocol: the header named `client`; the socket's peer becomes
    // proxy(). Before the session is registered (nothing else reads peer() yet).
    void set_proxied(std::string client) {
        proxy_ = std::move(peer_);
        peer_ = std::move(client);
    }
    uint64_t bytes_in() const { return bytes_in_; }
    uint64_t bytes_out() const { return bytes_out_; }
    // Also adds every byte read or written to these service-wide totals as
    // it flows, so a long session shows in the metrics before it ends.
    void count_into(std::atomic<uint64_t> *total_in, std::atomic<uint64_t> *total_out) {
        total_in_ = total_in;
        total_out_ = total_out;
    }
    // Why the connection ended early, if the host ended it ("idle timeout").
    const char *end_reason() const { return end_reason_; }
    // Whether the host ended it with force_close() (shutdown, drain deadline).
    bool forced() const { return forced_.load(); }

private:
    using Clock = std::chrono::steady_clock;
    // Waits until the socket is readable within the effective timeout.
    // Returns PORTICO_OK or a negative status.
    int wait_readable(int32_t timeout_ms);
    // Plain sockets: bounds the next blocking recv() or send() by `left`
    // (`option`: SO_RCVTIMEO or SO_SNDTIMEO, whose armed value is `armed`).
    bool arm_timeout(int option, std::chrono::microseconds &armed, std::chrono::microseconds left);
    // Reads through the transport, waiting again while TLS needs more bytes.
    int64_t recv_some(void *buf, size_t cap, int32_t timeout_ms);
    // Sends all of data; PORTICO_ERR_TIMEOUT once the peer has taken nothing
    // for idle_timeout (mode threads, plain: once the write has not been
    // taken whole within idle_timeout, as a blocking send cannot tell a
    // trickle from progress).
    int send_all(const char *data, size_t len);
    // Reads more bytes into the buffer; returns bytes read, 0 at EOF, <0 status.
    int64_t fill(int32_t timeout_ms);
    int closed_status() const;
    // Mode events: true (and logged once) when I/O is asked of this
    // connection from anywhere but its own fiber, which could never wait.
    // Mode threads (poll_wait_) has no such rule.
    bool foreign_caller() { return wait_ != &poll_wait_ && !wait_->usable_here() && report_foreign_caller(); }
    bool report_foreign_caller();

    Poco::Net::StreamSocket socket_;
    int fd_;
    std::unique_ptr<portico::host::Transport> transport_;
    portico::host::PollWait poll_wait_;
    portico::host::IoWait *wait_; // poll_wait_, or the caller's
    // Mode threads, plain: the socket blocks, and SO_RCVTIMEO / SO_SNDTIMEO
    // bound each recv/send (one system call per read instead of two).
    const bool blocking_;
    bool want_write_ = false;                            // TLS: the last read needs the socket writable
    std::chrono::microseconds armed_receive_timeout_{0}; // plain: SO_RCVTIMEO now set (0: none)
    std::chrono::microseconds armed_send_timeout_{0};    // plain: SO_SNDTIMEO now set (0: none)
    portico_service &service_;
    portico::host::ConnectionLimits limits_;
    std::string peer_;
    std::string local_;
    std::string proxy_;

    std::vector<char> buffer_;
    std::size_t begin_ = 0;   // first unread byte
    std::size_t end_ = 0;     // one past the last buffered byte
    std::size_t scanned_ = 0; // bytes after begin_ already searched for '\n'
    bool eof_ = false;
    bool closed_ = false;
    bool reported_foreign_caller_ = false;
    std::atomic<bool> forced_{false};
    const char *end_reason_ = nullptr;
    Clock::time_point last_activity_;
    uint64_t bytes_in_ = 0;
    uint64_t bytes_out_ = 0;
    std::atomic<uint64_t> *total_in_ = nullptr;
    std::atomic<uint64_t> *total_out_ = nullptr;
};

namespace portico::host {
using Connection = portico_conn;
} // namespace portico::host
