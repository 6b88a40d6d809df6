// Connection.cpp — buffered, deadline-bounded socket I/O for stream handlers.
#include "net/Connection.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include <sys/socket.h>
#include <sys/time.h>

namespace {
// Small, so an idle connection costs little (10 000 of them in mode threads:
// tests/bench/idle_connections); fill() doubles it as a line needs.
constexpr std::size_t initial_buffer = 4 * 1024;
// How often wait_readable_or looks at the service's `stopping` flag.
constexpr std::chrono::milliseconds kStoppingCheck{500};
// read_view's buffer: what a handler with its own buffer would read at once.
constexpr std::size_t view_buffer = 16 * 1024;
} // namespace

portico_conn::portico_conn(const Poco::Net::StreamSocket &socket, portico_service &service,
                           const portico::host::ConnectionLimits &limits,
                           std::shared_ptr<const portico::host::TlsContext> tls, portico::host::IoWait *wait)
    : socket_(socket), fd_(socket_.impl()->sockfd()),
      transport_(tls ? std::unique_ptr<portico::host::Transport>(
                           std::make_unique<portico::host::TlsTransport>(fd_, std::move(tls)))
                     : std::make_unique<portico::host::PlainTransport>(fd_)),
      poll_wait_(fd_), wait_(wait ? wait : &poll_wait_), blocking_(!wait_->nonblocking() && !transport_->is_tls()),
      service_(service), limits_(limits), last_activity_(Clock::now()) {
    try {
        peer_ = socket_.peerAddress().toString();
        local_ = socket_.address().toString();
    } catch (const Poco::Exception &) {
        // The peer may already be gone; addresses then stay empty.
    }
    // A slow reader must not pin a worker forever: each write is bounded by
    // idle_timeout, armed here once so a steady connection never re-arms it.
    if (blocking_) arm_timeout(SO_SNDTIMEO, armed_send_timeout_, limits_.idle_timeout);
}

int portico_conn::closed_status() const {
    return forced_ ? PORTICO_ERR_STOPPING : PORTICO_ERR_CLOSED;
}

int portico_conn::handshake(std::string &error) {
    auto *tls = dynamic_cast<portico::host::TlsTransport *>(transport_.get());
    if (tls == nullptr) return PORTICO_OK;
    const auto deadline = Clock::now() + std::min(limits_.read_timeout, limits_.idle_timeout);
    for (;;) {
        const int64_t step = tls->handshake(error);
        if (step == PORTICO_OK) {
            last_activity_ = Clock::now();
            return PORTICO_OK;
        }
        if (forced_) return PORTICO_ERR_STOPPING;
        if (step != portico::host::Transport::want_read && step != portico::host::Transport::want_write)
            return static_cast<int>(step);
        if (Clock::now() >= deadline) {
            error = "no complete TLS handshake within " +
                    std::to_string(std::min(limits_.read_timeout, limits_.idle_timeout).count()) + "ms";
            end_reason_ = "TLS handshake timeout";
            close();
            return PORTICO_ERR_TIMEOUT;
        }
        const bool write = step == portico::host::Transport::want_write;
        wait_->drained(write);
        if (wait_->wait(write, deadline) == portico::host::IoWait::Result::failed) {
            error = std::string("waiting for the socket: ") + std::strerror(errno);
            return PORTICO_ERR_IO;
        }
    }
}

int portico_conn::wait_readable(int32_t timeout_ms) {
    using std::chrono::milliseconds;
    // Bytes TLS has already decrypted never make the fd readable again.
    // Non-blocking: worth trying the read before waiting when the socket may hold bytes.
    if (transport_->pending() || (!blocking_ && wait_->maybe_ready(want_write_)))
        return forced_ ? PORTICO_ERR_STOPPING : PORTICO_OK;
    const auto start = Clock::now();
    std::optional<Clock::time_point> call_deadline;
    if (timeout_ms == PORTICO_TIMEOUT_DEFAULT)
        call_deadline = start + limits_.read_timeout;
    else if (timeout_ms >= 0)
        call_deadline = start + milliseconds(timeout_ms);
    else if (timeout_ms != PORTICO_TIMEOUT_INFINITE)
        return PORTICO_ERR_INVALID;
    const auto idle_deadline = last_activity_ + limits_.idle_timeout;

    for (auto now = start;; now = Clock::now()) {
        const auto deadline = call_deadline ? std::min(*call_deadline, idle_deadline) : idle_deadline;
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - now).count();
        if (left <= 0) {
            // Which deadline passed: not `now >= idle_deadline`, since poll's
            // millisecond rounding can wake us just before it.
            if (!call_deadline || idle_deadline <= *call_deadline) {
                // The host enforces idle_timeout whatever the handler asked for.
                end_reason_ = "idle timeout";
                close();
            }
            return PORTICO_ERR_TIMEOUT;
        }
        if (blocking_ && arm_timeout(SO_RCVTIMEO, armed_receive_timeout_,
                                     std::chrono::ceil<std::chrono::microseconds>(deadline - now)))
            return forced_ ? PORTICO_ERR_STOPPING : PORTICO_OK;
        switch (wait_->wait(want_write_, deadline)) {
        case portico::host::IoWait::Result::ready:
            return forced_ ? PORTICO_ERR_STOPPING : PORTICO_OK;
        case portico::host::IoWait::Result::failed:
            return PORTICO_ERR_IO;
        case portico::host::IoWait::Result::timeout:
            break; // the clock decides, above
        }
    }
}

// A plain socket blocks in recv() and send(): SO_RCVTIMEO / SO_SNDTIMEO bound
// those waits, so a read is one system call instead of poll() + recv(). The
// armed value is kept while it ends no earlier than the deadline and at most
// 1 ms after it, so a connection in steady use sets it once; the call failing
// with EAGAIN (or a send returning short) then means a deadline has passed.
bool portico_conn::arm_timeout(int option, std::chrono::microseconds &armed, std::chrono::microseconds left) {
    if (armed >= left && armed <= left + std::chrono::milliseconds(1)) return true;
    const timeval tv{static_cast<time_t>(left.count() / 1'000'000), static_cast<suseconds_t>(left.count() % 1'000'000)};
    if (::setsockopt(fd_, SOL_SOCKET, option, &tv, sizeof tv) != 0) return false;
    armed = left;
    return true;
}

void portico_conn::make_room() {
    if (begin_ > 0) {
        // Earlier read_line results are invalid from here on (documented).
        std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    if (end_ == capacity_) reserve_buffer(capacity_ == 0 ? initial_buffer : capacity_ * 2);
}

int64_t portico_conn::fill(int32_t timeout_ms) {
    make_room();
    const int64_t n = recv_some(buffer_.get() + end_, capacity_ - end_, timeout_ms);
    if (n > 0) end_ += static_cast<std::size_t>(n);
    return n;
}

void portico_conn::received(int64_t n, size_t cap) {
    bytes_in_ += static_cast<uint64_t>(n);
    if (total_in_) total_in_->fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    last_activity_ = Clock::now();
    // A short read of a plain stream socket took everything the
    // kernel had: the next read waits without trying recv first.
    if (static_cast<size_t>(n) < cap && !blocking_ && !transport_->is_tls()) wait_->drained(false);
    if (!blocking_) wait_->progressed();
}

int64_t portico_conn::fill_now() {
    make_room();
    const size_t cap = capacity_ - end_;
    const int64_t n = transport_->recv(buffer_.get() + end_, cap);
    want_write_ = n == portico::host::Transport::want_write;
    if (n > 0) {
        received(n, cap);
        end_ += static_cast<std::size_t>(n);
    } else if (n == 0) {
        eof_ = true;
    }
    return n;
}

void portico_conn::release_buffer() {
    buffer_.reset();
    capacity_ = 0;
    begin_ = end_ = scanned_ = 0;
}

void portico_conn::reserve_buffer(std::size_t bytes) {
    if (bytes <= capacity_) return;
    auto bigger = std::make_unique_for_overwrite<char[]>(bytes);
    if (end_ > 0) std::memcpy(bigger.get(), buffer_.get(), end_);
    buffer_ = std::move(bigger);
    capacity_ = bytes;
}

int64_t portico_conn::recv_some(void *buf, size_t cap, int32_t timeout_ms) {
    for (;;) {
        const int64_t n = transport_->recv(buf, cap);
        want_write_ = n == portico::host::Transport::want_write;
        if (n > 0) {
            received(n, cap);
            return n;
        }
        if (forced_) return PORTICO_ERR_STOPPING;
        if (n == 0 || (n != portico::host::Transport::want_read && !want_write_)) return n;
        // Plain, blocking: SO_RCVTIMEO ran out (wait_readable armed it), so a deadline has passed.
        if (blocking_) return wait_readable(0);
        // Non-blocking or TLS: nothing yet (or a partial record, or a write
        // first); the deadlines still hold.
        wait_->drained(want_write_);
        const int ready = wait_readable(timeout_ms);
        if (ready != PORTICO_OK) return ready;
    }
}

bool portico_conn::report_foreign_caller() {
    if (!reported_foreign_caller_) {
        reported_foreign_caller_ = true;
        service_.logger.error("service '%s': peer %s: a Stream call came from outside this connection's own "
                              "handler; in mode events only the handler serving a connection may read or write it "
                              "(the call fails with PORTICO_ERR_INVALID)",
                              service_.name, peer_);
    }
    return true;
}

int64_t portico_conn::read(void *buf, size_t cap, int32_t timeout_ms) {
    if (buf == nullptr || cap == 0) return PORTICO_ERR_INVALID;
    if (foreign_caller()) return PORTICO_ERR_INVALID;
    if (end_ > begin_) {
        const std::size_t n = std::min(cap, end_ - begin_);
        std::memcpy(buf, buffer_.get() + begin_, n);
        begin_ += n;
        scanned_ = 0;
        return static_cast<int64_t>(n);
    }
    if (closed_) return closed_status();
    if (eof_) return 0;
    const int ready = wait_readable(timeout_ms);
    if (ready != PORTICO_OK) return ready;
    const int64_t n = recv_some(buf, cap, timeout_ms);
    if (n == 0) eof_ = true;
    return n;
}

int64_t portico_conn::read_view(const char **data, size_t max, int32_t timeout_ms) {
    if (data == nullptr || max == 0) return PORTICO_ERR_INVALID;
    if (foreign_caller()) return PORTICO_ERR_INVALID;
    if (end_ == begin_) {
        if (closed_) return closed_status();
        if (eof_) return 0;
        release_buffer(); // as in read_line: no buffer while idle
        const int ready = wait_readable(timeout_ms);
        if (ready != PORTICO_OK) return ready;
        reserve_buffer(view_buffer);
        const int64_t n = recv_some(buffer_.get(), capacity_, timeout_ms);
        if (n <= 0) {
            if (n == 0) eof_ = true;
            return n;
        }
        end_ = static_cast<std::size_t>(n);
    }
    const std::size_t n = std::min(max, end_ - begin_);
    *data = buffer_.get() + begin_;
    begin_ += n;
    scanned_ = 0;
    return static_cast<int64_t>(n);
}

int64_t portico_conn::read_line(const char **line, int32_t timeout_ms) {
    if (line == nullptr) return PORTICO_ERR_INVALID;
    if (foreign_caller()) return PORTICO_ERR_INVALID;
    const Clock::time_point progress = last_activity_; // the last byte before this line began
    for (;;) {
        const char *start = buffer_.get() + begin_;
        const std::size_t buffered = end_ - begin_;
        if (const void *nl = buffered > scanned_ ? std::memchr(start + scanned_, '\n', buffered - scanned_) : nullptr) {
            const auto len = static_cast<std::size_t>(static_cast<const char *>(nl) - start) + 1;
            if (len > limits_.max_line) return PORTICO_ERR_TOO_LONG;
            *line = start;
            begin_ += len;
            scanned_ = 0;
            return static_cast<int64_t>(len);
        }
        scanned_ = buffered;
        if (buffered >= limits_.max_line) return PORTICO_ERR_TOO_LONG;
        if (eof_) {
            // A last line without '\n' is still a line, as in Python's readline().
            *line = start;
            begin_ = end_;
            scanned_ = 0;
            return static_cast<int64_t>(buffered);
        }
        if (closed_) return closed_status();
        // Nothing buffered, and this may wait long: an idle connection holds
        // no buffer (fill() takes a new one when bytes come).
        if (buffered == 0) release_buffer();
        const int ready = wait_readable(timeout_ms);
        if (ready != PORTICO_OK) return ready;
        const int64_t n = fill(timeout_ms);
        if (n < 0) return n;
        if (n == 0) eof_ = true;
        // Bytes without a newline are no progress to a line reader: the idle
        // deadline stays put, so a client dribbling a byte a second
        // (slowloris) is still cut at idle_timeout.
        else if (std::memchr(buffer_.get() + end_ - n, '\n', static_cast<std::size_t>(n)) == nullptr)
            last_activity_ = progress;
    }
}

int portico_conn::wait_readable_or(portico::host::Notifier *notifier, int32_t timeout_ms) {
    using portico::host::IoWait;
    if (foreign_caller()) return PORTICO_ERR_INVALID;
    const auto start = Clock::now();
    std::optional<Clock::time_point> call_deadline;
    if (timeout_ms == PORTICO_TIMEOUT_DEFAULT)
        call_deadline = start + limits_.read_timeout;
    else if (timeout_ms >= 0)
        call_deadline = start + std::chrono::milliseconds(timeout_ms);
    else if (timeout_ms != PORTICO_TIMEOUT_INFINITE)
        return PORTICO_ERR_INVALID;
    const auto consume = [&] { return notifier != nullptr && notifier->consume() ? PORTICO_WAIT_NOTIFIED : 0; };
    bool try_now = false; // a wait said the socket is ready: receive before waiting again
    for (;;) {
        // What the host holds counts, as a read returns it first; but not
        // the start of a line read_line has already looked at (it timed
        // out waiting for the rest): only more bytes help that reader.
        if (end_ > begin_ + scanned_) return PORTICO_WAIT_READABLE | consume();
        if (forced_ || service_.stopping.load()) return PORTICO_ERR_STOPPING;
        if (closed_) return closed_status();
        if (eof_) return PORTICO_WAIT_READABLE | consume();
        // Bytes are received into the buffer here, so that "readable" means
        // the same everywhere: a read, or a read_line of a whole line sent,
        // returns without waiting. Non-blocking (mode events, and TLS
        // everywhere) only a receive tells whether bytes are there: TLS may
        // hold a partial record, and bytes it decrypted earlier never make
        // the fd readable again. Blocking, poll(2) said a receive will not
        // block.
        if (try_now || (!blocking_ && (transport_->pending() || wait_->maybe_ready(want_write_)))) {
            try_now = false;
            const int64_t n = fill_now();
            if (n >= 0) continue;
            if (forced_) return PORTICO_ERR_STOPPING;
            if (n != portico::host::Transport::want_read && !want_write_) return static_cast<int>(n);
            wait_->drained(want_write_);
        }
        if (end_ == begin_) release_buffer(); // as in read_line: no buffer while idle
        const auto idle_deadline = last_activity_ + limits_.idle_timeout;
        const auto deadline = call_deadline ? std::min(*call_deadline, idle_deadline) : idle_deadline;
        const auto now = Clock::now();
        if (now >= deadline) {
            if (const int notified = consume()) return notified;
            if (!call_deadline || idle_deadline <= *call_deadline) {
                end_reason_ = "idle timeout";
                close();
            }
            return PORTICO_ERR_TIMEOUT;
        }
        bool notified = false;
        // The service's `stopping` flag wakes no one: a wait looks at it at
        // least every kStoppingCheck, so a session waiting only for news
        // ends soon after shutdown begins instead of at shutdown_timeout.
        const auto result = wait_->wait_or(notifier, want_write_, std::min(deadline, now + kStoppingCheck), notified);
        if (result == IoWait::Result::failed) return PORTICO_ERR_IO;
        if (forced_) return PORTICO_ERR_STOPPING;
        if (notified) return PORTICO_WAIT_NOTIFIED;
        if (result == IoWait::Result::ready) try_now = true;
    }
}

int portico_conn::write_all(const void *data, size_t len) {
    if (data == nullptr && len > 0) return PORTICO_ERR_INVALID;
    if (foreign_caller()) return PORTICO_ERR_INVALID;
    if (closed_) return closed_status();
    const int rc = send_all(static_cast<const char *>(data), len);
    if (rc != PORTICO_OK) {
        if (forced_) return PORTICO_ERR_STOPPING;
        if (rc == PORTICO_ERR_TIMEOUT) {
            // idle_timeout passed with the peer taking nothing: it stopped reading.
            end_reason_ = "write timeout";
            close();
        }
        return rc;
    }
    last_activity_ = Clock::now();
    return PORTICO_OK;
}

int portico_conn::send_all(const char *data, size_t len) {
    // Blocking: the kernel counts SO_SNDTIMEO down within one send() and
    // returns short when it runs out, so a peer taking a trickle (a never-
    // reading client's window still opening) would restart a per-call limit
    // over and over. One deadline across the whole write, as reads have.
    const auto write_deadline = Clock::now() + limits_.idle_timeout;
    constexpr auto not_stalled = Clock::time_point::max();
    auto stall_deadline = not_stalled; // non-blocking: set when the peer stops taking bytes
    while (len > 0) {
        if (blocking_) {
            const auto left = std::chrono::ceil<std::chrono::microseconds>(write_deadline - Clock::now());
            // 0 would mean "no limit" to SO_SNDTIMEO.
            if (left.count() <= 0) return PORTICO_ERR_TIMEOUT;
            if (!arm_timeout(SO_SNDTIMEO, armed_send_timeout_, left)) return PORTICO_ERR_IO;
        }
        const int64_t n = transport_->send(data, len);
        if (n > 0) {
            data += n;
            len -= static_cast<size_t>(n);
            bytes_out_ += static_cast<uint64_t>(n);
            if (total_out_) total_out_->fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
            stall_deadline = not_stalled;
            if (!blocking_) wait_->progressed();
            continue;
        }
        if (n == 0) return PORTICO_ERR_IO; // send() took nothing without saying why
        if (n != portico::host::Transport::want_read && n != portico::host::Transport::want_write)
            return static_cast<int>(n);
        // Blocking: SO_SNDTIMEO (what was left of the write's deadline) ran out with the peer taking nothing.
        if (blocking_) return PORTICO_ERR_TIMEOUT;
        if (forced_) return PORTICO_ERR_STOPPING;
        const bool write = n == portico::host::Transport::want_write;
        if (stall_deadline == not_stalled) stall_deadline = Clock::now() + limits_.idle_timeout;
        wait_->drained(write);
        if (wait_->wait(write, stall_deadline) == portico::host::IoWait::Result::failed) return PORTICO_ERR_IO;
        if (Clock::now() >= stall_deadline) return PORTICO_ERR_TIMEOUT;
    }
    return PORTICO_OK;
}

void portico_conn::close() {
    if (closed_) return;
    closed_ = true;
    transport_->close_notify();
    ::shutdown(fd_, SHUT_RDWR);
}

void portico_conn::force_close() {
    forced_ = true;
    ::shutdown(fd_, SHUT_RDWR);
}

void portico_conn::set_read_timeout(int32_t timeout_ms) {
    if (timeout_ms >= 0) limits_.read_timeout = std::chrono::milliseconds(timeout_ms);
}
