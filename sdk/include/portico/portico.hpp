// portico.hpp — header-only C++ SDK on top of the C ABI in portico.h.
//
// A plugin is a few handler classes and one registration block:
//
//   class Upper : public portico::StreamHandler {
//       void handle() override {
//           while (auto line = stream().read_line()) stream().write_all(upper(*line));
//       }
//   };
//   PORTICO_PLUGIN("text", "1.0.0", reg) { reg.stream<Upper>("upper"); }
//
// A new handler object is made for every connection (every datagram), and
// setup(), handle(), finish() run on it in that order, as in Python's
// socketserver; finish() runs even when handle() throws. Exceptions never
// cross into the host: they are caught here, logged with the service and the
// peer, and the connection is closed.
//
// State shared by all connections of one bound service lives in a
// ServiceContext subclass, named by deriving from BasicStreamHandler<Ctx>.
// It is shared between threads: guard it with your own mutex.
//
// Do not use `thread_local` objects with destructors in a plugin: the host's
// worker threads never exit, so such an object pins the library in memory
// and defeats hot reload.
#ifndef PORTICO_PORTICO_HPP
#define PORTICO_PORTICO_HPP

#if __cplusplus < 201703L
#error "portico.hpp needs C++17 or newer (-std=c++17); a C plugin includes portico.h only"
#endif

#include "portico.h"

#if __has_include(<cxxabi.h>)
#include <cxxabi.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <vector>

namespace portico {

enum class LogLevel {
    debug = PORTICO_LOG_DEBUG,
    info = PORTICO_LOG_INFO,
    warning = PORTICO_LOG_WARNING,
    error = PORTICO_LOG_ERROR
};

// An I/O call failed: status() is the portico_status the host returned.
class IoError : public std::runtime_error {
public:
    IoError(int status, const std::string &what) : std::runtime_error(what), status_(status) {}
    int status() const noexcept { return status_; }

private:
    int status_;
};

namespace detail {
inline const char *status_text(int64_t status) {
    switch (status) {
    case PORTICO_ERR_TIMEOUT:
        return "read timed out";
    case PORTICO_ERR_CLOSED:
        return "connection closed";
    case PORTICO_ERR_TOO_LONG:
        return "line longer than max_line";
    case PORTICO_ERR_STOPPING:
        return "service is stopping";
    case PORTICO_ERR_INVALID:
        return "invalid argument";
    case PORTICO_ERR_IO:
        return "socket error";
    default:
        return "error";
    }
}

struct Access;

[[noreturn]] inline void throw_status(int64_t status) {
    throw IoError(static_cast<int>(status), status_text(status));
}

inline int32_t to_ms(std::optional<std::chrono::milliseconds> timeout) {
    if (!timeout) return PORTICO_TIMEOUT_DEFAULT;
    return static_cast<int32_t>(timeout->count());
}

template <class Fn> std::string read_address(Fn &&fn) {
    char small[96];
    const size_t need = fn(small, sizeof small);
    if (need < sizeof small) return std::string(small, need);
    std::string big(need + 1, '\0');
    fn(big.data(), big.size());
    big.resize(need);
    return big;
}
} // namespace detail

// What verify_request decides about a connection: serve it, or refuse it
// with an optional message that the host sends to the client before closing.
class Verdict {
public:
    static Verdict accept() { return Verdict(true, {}); }
    static Verdict refuse(std::string message = {}) { return Verdict(false, std::move(message)); }
    bool accepted() const { return accepted_; }
    const std::string &message() const { return message_; }

private:
    Verdict(bool accepted, std::string message) : accepted_(accepted), message_(std::move(message)) {}
    bool accepted_;
    std::string message_;
};

// State and settings of one bound service, shared by all its connections.
// Derive from it to keep your own state; override the hooks you need.
class ServiceContext {
public:
    ServiceContext() = default;
    ServiceContext(const ServiceContext &) = delete;
    ServiceContext &operator=(const ServiceContext &) = delete;
    virtual ~ServiceContext() = default;

    // Runs once after the service is bound, before any connection.
    virtual void open() {}
    // Runs once when the service (or this plugin version) goes away.
    virtual void close() {}
    // Hot-reload hand-off: the old version's export_state() output is given
    // to the new version's import_state(). Default: nothing is carried.
    virtual std::string export_state() { return {}; }
    virtual void import_state(std::string_view) {}

    std::string name() const { return host_->service_name(svc_); }
    std::optional<std::string> config(std::string_view key) const {
        const char *v = host_->config_get(svc_, std::string(key).c_str());
        if (!v) return std::nullopt;
        return std::string(v);
    }
    std::string config(std::string_view key, std::string_view fallback) const {
        auto v = config(key);
        return v ? *v : std::string(fallback);
    }
    bool stopping() const { return host_->stopping(svc_) != 0; }
    void log(LogLevel level, const std::string &message) const {
        host_->log(svc_, nullptr, static_cast<int>(level), message.c_str());
    }

    // Decides, on the accept path, whether to serve a connection from peer
    // to local ("host:port"): after the config's allow/deny and rate limits,
    // before a session starts. Override it (publicly) and the host asks it
    // about every connection of a stream service (ABI minor 2); it runs on
    // the accepting thread or event loop, so it must not block. A refusal's
    // message is sent to the client; the refusal is counted and logged.
    virtual Verdict verify_request(const std::string &peer, const std::string &local) {
        (void)peer;
        (void)local;
        return Verdict::accept();
    }

    // Escape hatches to the C handles, for what the C++ layer does not wrap.
    const portico_host_api *host_api() const { return host_; }
    portico_service *raw() const { return svc_; }

private:
    friend struct detail::Access;
    const portico_host_api *host_ = nullptr;
    portico_service *svc_ = nullptr;
};

// A timeout meaning "no limit" (the service's idle_timeout still applies).
inline constexpr std::chrono::milliseconds forever{PORTICO_TIMEOUT_INFINITE};

// A wake-up flag (ABI minor 2) that any thread may raise with signal(): a
// session waiting in Stream::wait_readable_or() on it wakes. Signals
// coalesce, and one raised before the wait is kept for it. Typically one per
// session, its inbox's doorbell: others queue for it, then signal().
// Movable, not copyable; the handle is freed with the object, so no thread
// may signal it after that (waits of other sessions on it then return as
// notified).
class Notifier {
public:
    // Throws std::runtime_error on a host older than ABI minor 2, or when
    // the host has no memory for it.
    explicit Notifier(const portico_host_api *host) : host_(host) {
        if (!PORTICO_HOST_HAS(host_, notifier_create))
            throw std::runtime_error("this portico host is older than ABI minor 2: no notifiers");
        n_ = host_->notifier_create();
        if (n_ == nullptr) throw std::runtime_error("portico could not make a notifier");
    }
    ~Notifier() {
        if (n_) host_->notifier_destroy(n_);
    }
    Notifier(Notifier &&other) noexcept : host_(other.host_), n_(other.n_) { other.n_ = nullptr; }
    Notifier &operator=(Notifier &&other) noexcept {
        if (this != &other) {
            if (n_) host_->notifier_destroy(n_);
            host_ = other.host_;
            n_ = other.n_;
            other.n_ = nullptr;
        }
        return *this;
    }
    Notifier(const Notifier &) = delete;
    Notifier &operator=(const Notifier &) = delete;

    // Any thread; never blocks.
    void signal() const noexcept {
        if (n_) host_->notifier_signal(n_);
    }
    portico_notifier *raw() const { return n_; }

private:
    const portico_host_api *host_;
    portico_notifier *n_ = nullptr;
};

// What ended a Stream::wait_readable_or(): both may be true.
struct Wakeup {
    bool readable = false; // a read would not wait (bytes, or end of stream)
    bool notified = false; // the notifier was signalled
    bool timed_out() const { return !readable && !notified; }
};

// One TCP connection, as seen by a handler.
class Stream {
public:
    using Timeout = std::optional<std::chrono::milliseconds>;

    Stream(const portico_host_api *host, portico_conn *conn) : host_(host), conn_(conn) {}

    // Up to cap bytes; 0 at end of stream. Throws IoError on timeout/error.
    size_t read(void *buf, size_t cap, Timeout timeout = std::nullopt) {
        const int64_t n = host_->read(conn_, buf, cap, detail::to_ms(timeout));
        if (n < 0) detail::throw_status(n);
        return static_cast<size_t>(n);
    }
    // Up to max bytes as a string; empty at end of stream.
    std::string read(size_t max, Timeout timeout = std::nullopt) {
        std::string out(max, '\0');
        out.resize(read(out.data(), max, timeout));
        return out;
    }
    // One line with its '\n'; nullopt at end of stream. The view is valid
    // until the next read or wait_readable_or on this stream. Throws
    // IoError(PORTICO_ERR_TOO_LONG) for a line over the service's max_line.
    std::optional<std::string_view> read_line(Timeout timeout = std::nullopt) {
        const char *line = nullptr;
        const int64_t n = host_->read_line(conn_, &line, detail::to_ms(timeout));
        if (n < 0) detail::throw_status(n);
        if (n == 0) return std::nullopt;
        return std::string_view(line, static_cast<size_t>(n));
    }
    // Waits, without polling, until the peer's bytes can be read (or end of
    // stream), `notifier` is signalled, or the timeout passes (timed_out()).
    // Throws IoError when the connection is closed or the service stops, or
    // with PORTICO_ERR_INVALID on a host older than ABI minor 2.
    Wakeup wait_readable_or(const Notifier &notifier, Timeout timeout = std::nullopt) {
        if (!PORTICO_HOST_HAS(host_, conn_wait_readable_or))
            throw IoError(PORTICO_ERR_INVALID, "this portico host is older than ABI minor 2: no wake-ups");
        const int rc = host_->conn_wait_readable_or(conn_, notifier.raw(), detail::to_ms(timeout));
        if (rc == PORTICO_ERR_TIMEOUT) return {};
        if (rc < 0) detail::throw_status(rc);
        return Wakeup{(rc & PORTICO_WAIT_READABLE) != 0, (rc & PORTICO_WAIT_NOTIFIED) != 0};
    }
    // The next bytes, at most max, lent from the host's buffer: valid until
    // the next read or wait_readable_or on this stream; nullopt at end of
    // stream. A handler reading this way needs no buffer of its own, so its
    // idle connections cost little memory (echo does). On a host older
    // than ABI minor 2 the bytes come through a buffer of this Stream's.
    std::optional<std::string_view> read_view(size_t max = 16 * 1024, Timeout timeout = std::nullopt) {
        const char *data = nullptr;
        int64_t n = 0;
        if (PORTICO_HOST_HAS(host_, read_view)) {
            n = host_->read_view(conn_, &data, max, detail::to_ms(timeout));
        } else {
            fallback_.resize(max);
            n = host_->read(conn_, fallback_.data(), max, detail::to_ms(timeout));
            data = fallback_.data();
        }
        if (n < 0) detail::throw_status(n);
        if (n == 0) return std::nullopt;
        return std::string_view(data, static_cast<size_t>(n));
    }
    void write_all(std::string_view data) {
        const int rc = host_->write_all(conn_, data.data(), data.size());
        if (rc != PORTICO_OK) detail::throw_status(rc);
    }
    void close() { host_->close(conn_); }
    void set_timeout(std::chrono::milliseconds timeout) {
        host_->set_read_timeout(conn_, static_cast<int32_t>(timeout.count()));
    }
    std::string peer() const {
        return detail::read_address([&](char *b, size_t n) { return host_->peer_address(conn_, b, n); });
    }
    std::string local() const {
        return detail::read_address([&](char *b, size_t n) { return host_->local_address(conn_, b, n); });
    }
    bool stopping() const { return host_->stopping(host_->conn_service(conn_)) != 0; }
    void log(LogLevel level, const std::string &message) const {
        host_->log(host_->conn_service(conn_), conn_, static_cast<int>(level), message.c_str());
    }
    // Whether the host terminated TLS on this connection. False on a host
    // older than ABI minor 1, which has no TLS.
    bool is_tls() const { return PORTICO_HOST_HAS(host_, conn_is_tls) && host_->conn_is_tls(conn_) != 0; }
    // The verified client certificate's subject ("CN=alice,O=Example"), or
    // "" when the client sent none, the connection is plain, or the host is
    // older than ABI minor 1.
    std::string peer_certificate_subject() const {
        if (!PORTICO_HOST_HAS(host_, conn_peer_subject)) return {};
        return detail::read_address([&](char *b, size_t n) { return host_->conn_peer_subject(conn_, b, n); });
    }
    // The load balancer's address when the connection came with a PROXY
    // header (peer() is then the client it names); "" otherwise, or on a
    // host without PROXY protocol support.
    std::string proxy() const {
        if (!PORTICO_HOST_HAS(host_, conn_proxy_address)) return {};
        return detail::read_address([&](char *b, size_t n) { return host_->conn_proxy_address(conn_, b, n); });
    }

    // The host's function table, e.g. to make a Notifier.
    const portico_host_api *host_api() const { return host_; }

private:
    const portico_host_api *host_;
    portico_conn *conn_;
    std::string fallback_; // read_view's buffer on a host without read_view
};

// One received UDP datagram, as seen by a handler.
class Datagram {
public:
    Datagram(const portico_host_api *host, portico_datagram *d) : host_(host), d_(d) {}

    std::string_view data() const {
        size_t len = 0;
        const void *p = host_->dgram_data(d_, &len);
        return std::string_view(static_cast<const char *>(p), len);
    }
    std::string peer() const {
        return detail::read_address([&](char *b, size_t n) { return host_->dgram_peer_address(d_, b, n); });
    }
    void reply(std::string_view data) {
        const int rc = host_->dgram_reply(d_, data.data(), data.size());
        if (rc != PORTICO_OK) detail::throw_status(rc);
    }
    void send_to(const std::string &address, std::string_view data) {
        const int rc = host_->dgram_send_to(d_, address.c_str(), data.data(), data.size());
        if (rc != PORTICO_OK) detail::throw_status(rc);
    }
    void log(LogLevel level, const std::string &message) const {
        host_->log(host_->dgram_service(d_), nullptr, static_cast<int>(level), (peer() + ": " + message).c_str());
    }

private:
    const portico_host_api *host_;
    portico_datagram *d_;
};

// What the stream and datagram handler bases share: the hooks around
// handle() and the default reaction to an exception that escaped it.
class HandlerBase {
public:
    virtual ~HandlerBase() = default;
    // Runs first.
    virtual void setup() {}
    // Runs last, however handle() ended.
    virtual void finish() {}
    // An exception other than an IoError escaped setup() or handle(): its
    // type (demangled, "std::runtime_error") and what(). Runs before
    // finish(), outside any catch block; the connection is closed after
    // finish(). Default: logs "handler 'NAME' threw TYPE: WHAT" as an error.
    virtual void handle_error(std::string_view type, std::string_view what) {
        log_escaped(PORTICO_LOG_ERROR, " threw " + std::string(type) + (what.empty() ? "" : ": " + std::string(what)));
    }

protected:
    // The name the handler was registered under.
    const std::string &handler_name() const { return *name_; }

private:
    friend struct detail::Access;
    void log_escaped(int level, const std::string &text) const {
        host_->log(svc_, conn_, level, ("handler '" + *name_ + "'" + text).c_str());
    }

    const portico_host_api *host_ = nullptr;
    portico_service *svc_ = nullptr;
    portico_conn *conn_ = nullptr;
    const std::string *name_ = nullptr;
};

// Base of stream handlers: override handle(), optionally setup()/finish()
// and the hooks. A handler that may block outside Stream calls (sleeps,
// waits on a condition variable, calls a blocking library) says so with
//   static constexpr bool may_block = true;
// and the host then refuses to serve it in mode events. A handler whose
// stack objects (its members, locals, the Stream) nothing outside its own
// connection touches while it waits in a Stream call says so with
//   static constexpr bool stack_private = true;
// and in mode events an idle connection then costs the bytes its frames
// hold instead of a stack page (PORTICO_TRAIT_STACK_PRIVATE).
template <class Context = ServiceContext> class BasicStreamHandler : public HandlerBase {
public:
    using context_type = Context;
    virtual void handle() = 0;
    // A read timed out and the timeout escaped handle(). Runs before
    // finish(), with the stream still open (a goodbye may be written); the
    // connection is closed after finish(). Default: logs it at info level.
    virtual void handle_timeout() { stream().log(LogLevel::info, "handler '" + handler_name() + "': read timed out"); }

    Stream &stream() { return *stream_; }
    Context &context() { return *context_; }

private:
    friend struct detail::Access;
    Stream *stream_ = nullptr;
    Context *context_ = nullptr;
};
using StreamHandler = BasicStreamHandler<ServiceContext>;

// Base of datagram handlers: override handle(Datagram&).
template <class Context = ServiceContext> class BasicDatagramHandler : public HandlerBase {
public:
    using context_type = Context;
    virtual void handle(Datagram &datagram) = 0;

    Context &context() { return *context_; }

private:
    friend struct detail::Access;
    Context *context_ = nullptr;
};
using DatagramHandler = BasicDatagramHandler<ServiceContext>;

class Registrar;

namespace detail {

// What the plugin keeps per registered handler; `user` in the C descriptor.
struct HandlerEntry {
    const portico_host_api *host = nullptr;
    std::string name;
};

// The one door to the private parts of the SDK's classes.
struct Access {
    static void attach(ServiceContext &ctx, const portico_host_api *host, portico_service *svc) {
        ctx.host_ = host;
        ctx.svc_ = svc;
    }
    static void attach(HandlerBase &base, const HandlerEntry &entry, portico_service *svc, portico_conn *conn) {
        base.host_ = entry.host;
        base.svc_ = svc;
        base.conn_ = conn;
        base.name_ = &entry.name;
    }
    template <class Context> static void attach(BasicStreamHandler<Context> &h, Stream &stream, Context &context) {
        h.stream_ = &stream;
        h.context_ = &context;
    }
    template <class Context> static void attach(BasicDatagramHandler<Context> &h, Context &context) {
        h.context_ = &context;
    }
    static void log_escaped(const HandlerBase &base, int level, const std::string &text) {
        base.log_escaped(level, text);
    }
    static Registrar registrar(const portico_host_api *host, portico_registrar *reg,
                               std::vector<std::unique_ptr<HandlerEntry>> &entries);
};

// The demangled name of the exception being handled ("std::runtime_error").
inline std::string current_exception_type() {
#if __has_include(<cxxabi.h>)
    if (const std::type_info *type = abi::__cxa_current_exception_type()) {
        int status = 0;
        std::unique_ptr<char, void (*)(void *)> name(abi::__cxa_demangle(type->name(), nullptr, nullptr, &status),
                                                     &std::free);
        return status == 0 && name ? std::string(name.get()) : std::string(type->name());
    }
#endif
    return "an unknown exception";
}

// An exception that escaped setup() or handle(), taken out of its catch
// block so that the hooks reacting to it may wait on the stream.
struct Escaped {
    enum class Kind { none, io, other } kind = Kind::none;
    int status = PORTICO_OK;
    std::string type;
    std::string what;

    // Only inside a catch block.
    static Escaped current() {
        Escaped e;
        e.type = current_exception_type();
        try {
            throw;
        } catch (const IoError &io) {
            e.kind = Kind::io;
            e.status = io.status();
            e.what = io.what();
        } catch (const std::exception &ex) {
            e.kind = Kind::other;
            e.status = PORTICO_ERR_HANDLER;
            e.what = ex.what();
        } catch (...) {
            e.kind = Kind::other;
            e.status = PORTICO_ERR_HANDLER;
        }
        return e;
    }
};

template <class Context> int open_service(void *user, portico_service *svc, void **state) {
    auto *entry = static_cast<HandlerEntry *>(user);
    try {
        auto ctx = std::make_unique<Context>();
        Access::attach(*ctx, entry->host, svc);
        ctx->open();
        *state = ctx.release();
        return PORTICO_OK;
    } catch (const std::exception &e) {
        entry->host->log(svc, nullptr, PORTICO_LOG_ERROR,
                         ("handler '" + entry->name + "': service open failed: " + e.what()).c_str());
    } catch (...) {
        entry->host->log(svc, nullptr, PORTICO_LOG_ERROR,
                         ("handler '" + entry->name + "': service open failed").c_str());
    }
    return PORTICO_ERR_HANDLER;
}

template <class Context> void close_service(void *, void *state) {
    std::unique_ptr<Context> ctx(static_cast<Context *>(state));
    try {
        ctx->close();
    } catch (...) {
        // Nothing sensible to report to: the service is already going away.
    }
}

template <class Context> int export_service(void *user, void *state, portico_sink *sink) {
    auto *entry = static_cast<HandlerEntry *>(user);
    try {
        const std::string bytes = static_cast<Context *>(state)->export_state();
        return entry->host->sink_write(sink, bytes.data(), bytes.size());
    } catch (const std::exception &e) {
        entry->host->log(static_cast<Context *>(state)->raw(), nullptr, PORTICO_LOG_ERROR,
                         ("state export failed: " + std::string(e.what())).c_str());
        return PORTICO_ERR_HANDLER;
    }
}

template <class Context> int import_service(void *user, void *state, const void *data, size_t len) {
    auto *entry = static_cast<HandlerEntry *>(user);
    try {
        static_cast<Context *>(state)->import_state(std::string_view(static_cast<const char *>(data), len));
        return PORTICO_OK;
    } catch (const std::exception &e) {
        entry->host->log(static_cast<Context *>(state)->raw(), nullptr, PORTICO_LOG_ERROR,
                         ("state import failed: " + std::string(e.what())).c_str());
        return PORTICO_ERR_HANDLER;
    }
}

// Whether Context overrides ServiceContext::verify_request: only then is
// the plugin asked about every connection.
template <class Context>
inline constexpr bool has_verify_request =
    !std::is_same_v<decltype(&Context::verify_request), decltype(&ServiceContext::verify_request)>;

template <class Context>
int verify_request(void *user, void *state, const char *peer, const char *local, char *message, size_t cap) {
    auto *entry = static_cast<HandlerEntry *>(user);
    auto *ctx = static_cast<Context *>(state);
    try {
        const Verdict verdict = ctx->verify_request(peer ? peer : "", local ? local : "");
        if (verdict.accepted()) return PORTICO_OK;
        if (message != nullptr && cap > 0) {
            const size_t n = std::min(verdict.message().size(), cap - 1);
            std::memcpy(message, verdict.message().data(), n);
            message[n] = '\0';
        }
    } catch (...) {
        // Refused: a connection the plugin could not judge is not served.
        entry->host->log(ctx->raw(), nullptr, PORTICO_LOG_ERROR,
                         ("handler '" + entry->name + "': verify_request threw " + current_exception_type() +
                          "; the connection from " + (peer ? peer : "?") + " is refused")
                             .c_str());
    }
    return PORTICO_ERR_HANDLER;
}

// The handler's traits as PORTICO_TRAIT_* bits.
template <class Handler, class = void> struct BlockingTrait { static constexpr uint32_t value = 0; };
template <class Handler> struct BlockingTrait<Handler, std::void_t<decltype(Handler::may_block)>> {
    static constexpr uint32_t value = Handler::may_block ? PORTICO_TRAIT_BLOCKING : 0u;
};
template <class Handler, class = void> struct StackPrivateTrait { static constexpr uint32_t value = 0; };
template <class Handler> struct StackPrivateTrait<Handler, std::void_t<decltype(Handler::stack_private)>> {
    static constexpr uint32_t value = Handler::stack_private ? PORTICO_TRAIT_STACK_PRIVATE : 0u;
};
template <class Handler> struct TraitsOf {
    static constexpr uint32_t value = BlockingTrait<Handler>::value | StackPrivateTrait<Handler>::value;
};

// Runs a code block, turning whatever it throws into a logged error: for
// the handler's constructor, finish() and the hooks themselves.
template <class Body>
int guarded(const HandlerEntry &entry, portico_service *svc, portico_conn *conn, const char *step, Body &&body) {
    try {
        body();
        return PORTICO_OK;
    } catch (...) {
        const Escaped e = Escaped::current();
        entry.host->log(
            svc, conn, PORTICO_LOG_ERROR,
            ("handler '" + entry.name + "' threw " + e.type + " in " + step + (e.what.empty() ? "" : ": " + e.what))
                .c_str());
        return e.kind == Escaped::Kind::io ? e.status : PORTICO_ERR_HANDLER;
    }
}

// setup(), handle(), then the hook for what escaped, then finish(), like
// socketserver's BaseRequestHandler and handle_error; the same for stream
// and datagram handlers. Returns the session's status.
template <class Handler, class Handle>
int run_handler(const HandlerEntry &entry, portico_service *svc, portico_conn *conn, Handler &handler,
                Handle &&handle) {
    // Called through the base so overrides may be private in the plugin.
    HandlerBase &base = handler;
    Escaped escaped;
    try {
        base.setup();
        handle();
    } catch (...) {
        escaped = Escaped::current();
    }
    // The hooks and finish() run outside any catch block: they may write to
    // the stream, and in mode events a connection's fiber must not wait while
    // the runtime is handling an exception for it.
    guarded(entry, svc, conn, "its error hook", [&] {
        if (escaped.kind == Escaped::Kind::other) {
            base.handle_error(escaped.type, escaped.what);
        } else if (escaped.kind == Escaped::Kind::io) {
            if constexpr (std::is_base_of_v<BasicStreamHandler<typename Handler::context_type>, Handler>) {
                if (escaped.status == PORTICO_ERR_TIMEOUT) {
                    static_cast<BasicStreamHandler<typename Handler::context_type> &>(handler).handle_timeout();
                    return;
                }
            }
            // The peer went away or a line was too long: routine, not a handler bug.
            Access::log_escaped(base, escaped.status == PORTICO_ERR_TOO_LONG ? PORTICO_LOG_INFO : PORTICO_LOG_DEBUG,
                                ": " + escaped.what);
        }
    });
    const int finished = guarded(entry, svc, conn, "finish()", [&] { base.finish(); });
    return escaped.kind != Escaped::Kind::none ? escaped.status : finished;
}

template <class Handler> int handle_stream(void *user, void *state, portico_conn *conn) {
    using Context = typename Handler::context_type;
    const auto &entry = *static_cast<HandlerEntry *>(user);
    const portico_host_api *host = entry.host;
    portico_service *svc = host->conn_service(conn);
    Stream stream(host, conn);
    int rc = PORTICO_ERR_HANDLER;
    guarded(entry, svc, conn, "its constructor", [&] {
        Handler handler;
        Access::attach(handler, entry, svc, conn);
        Access::attach(static_cast<BasicStreamHandler<Context> &>(handler), stream, *static_cast<Context *>(state));
        rc = run_handler(entry, svc, conn, handler,
                         [&] { static_cast<BasicStreamHandler<Context> &>(handler).handle(); });
    });
    if (rc == PORTICO_ERR_HANDLER) host->close(conn);
    return rc;
}

template <class Handler> int handle_datagram(void *user, void *state, portico_datagram *d) {
    using Context = typename Handler::context_type;
    const auto &entry = *static_cast<HandlerEntry *>(user);
    const portico_host_api *host = entry.host;
    portico_service *svc = host->dgram_service(d);
    Datagram datagram(host, d);
    int rc = PORTICO_ERR_HANDLER;
    guarded(entry, svc, nullptr, "its constructor", [&] {
        Handler handler;
        Access::attach(handler, entry, svc, nullptr);
        Access::attach(static_cast<BasicDatagramHandler<Context> &>(handler), *static_cast<Context *>(state));
        rc = run_handler(entry, svc, nullptr, handler,
                         [&] { static_cast<BasicDatagramHandler<Context> &>(handler).handle(datagram); });
    });
    return rc;
}

} // namespace detail

// Handed to the PORTICO_PLUGIN block; registers the plugin's handlers.
class Registrar {
public:
    template <class Handler> void stream(const std::string &name) {
        static_assert(std::is_base_of_v<BasicStreamHandler<typename Handler::context_type>, Handler>,
                      "stream<T>: T must derive from portico::BasicStreamHandler");
        using Context = typename Handler::context_type;
        portico_handler_desc desc = describe<Context>(PORTICO_HANDLER_STREAM, detail::TraitsOf<Handler>::value);
        desc.handle_stream = &detail::handle_stream<Handler>;
        if constexpr (detail::has_verify_request<Context>) desc.verify_request = &detail::verify_request<Context>;
        add(name, desc);
    }

    template <class Handler> void datagram(const std::string &name) {
        static_assert(std::is_base_of_v<BasicDatagramHandler<typename Handler::context_type>, Handler>,
                      "datagram<T>: T must derive from portico::BasicDatagramHandler");
        using Context = typename Handler::context_type;
        portico_handler_desc desc = describe<Context>(PORTICO_HANDLER_DATAGRAM, detail::TraitsOf<Handler>::value);
        desc.handle_datagram = &detail::handle_datagram<Handler>;
        add(name, desc);
    }

    const portico_host_api *host() const { return host_; }

private:
    friend struct detail::Access;
    Registrar(const portico_host_api *host, portico_registrar *reg,
              std::vector<std::unique_ptr<detail::HandlerEntry>> &entries)
        : host_(host), reg_(reg), entries_(entries) {}

    template <class Context> static portico_handler_desc describe(uint32_t kind, uint32_t traits) {
        static_assert(std::is_base_of_v<ServiceContext, Context>, "a context must derive from portico::ServiceContext");
        portico_handler_desc desc{};
        desc.size = sizeof desc;
        desc.kind = kind;
        desc.service_open = &detail::open_service<Context>;
        desc.service_close = &detail::close_service<Context>;
        desc.state_export = &detail::export_service<Context>;
        desc.state_import = &detail::import_service<Context>;
        desc.traits = traits;
        return desc;
    }

    void add(const std::string &name, portico_handler_desc &desc) {
        auto entry = std::make_unique<detail::HandlerEntry>();
        entry->host = host_;
        entry->name = name;
        desc.name = entry->name.c_str();
        desc.user = entry.get();
        if (host_->register_handler(reg_, &desc) != PORTICO_OK)
            throw std::runtime_error("cannot register handler '" + name + "'");
        entries_.push_back(std::move(entry));
    }

    const portico_host_api *host_;
    portico_registrar *reg_;
    std::vector<std::unique_ptr<detail::HandlerEntry>> &entries_;
};

namespace detail {
inline Registrar Access::registrar(const portico_host_api *host, portico_registrar *reg,
                                   std::vector<std::unique_ptr<HandlerEntry>> &entries) {
    return Registrar(host, reg, entries);
}

// The plugin-wide glue behind PORTICO_PLUGIN: owns the handler entries.
class PluginGlue {
public:
    using RegisterFn = void (*)(Registrar &);

    int init(const portico_host_api *host, portico_registrar *reg, RegisterFn fn) {
        try {
            Registrar registrar = Access::registrar(host, reg, entries_);
            fn(registrar);
            return PORTICO_OK;
        } catch (const std::exception &e) {
            host->fail(reg, e.what());
        } catch (...) {
            host->fail(reg, "plugin init threw a non-std exception");
        }
        entries_.clear();
        return PORTICO_ERR_HANDLER;
    }
    void unload() { entries_.clear(); }

private:
    std::vector<std::unique_ptr<HandlerEntry>> entries_;
};
} // namespace detail

} // namespace portico

#define PORTICO_DETAIL_EXPORT PORTICO_EXPORT

// Defines the plugin's entry point; the block that follows registers handlers:
//   PORTICO_PLUGIN("text", "1.0.0", reg) { reg.stream<Upper>("upper"); }
#define PORTICO_PLUGIN(NAME, VERSION, REG)                                                                             \
    static void portico_register_handlers_(::portico::Registrar &);                                                    \
    static ::portico::detail::PluginGlue portico_glue_;                                                                \
    static int portico_init_(const portico_host_api *host, portico_registrar *reg) {                                   \
        return portico_glue_.init(host, reg, &portico_register_handlers_);                                             \
    }                                                                                                                  \
    static void portico_unload_(void) {                                                                                \
        portico_glue_.unload();                                                                                        \
    }                                                                                                                  \
    static const portico_plugin_desc portico_descriptor_ = {                                                           \
        PORTICO_MAGIC, PORTICO_ABI_VERSION, PORTICO_ABI_MINOR, sizeof(portico_plugin_desc), NAME,                      \
        VERSION,       &portico_init_,      &portico_unload_};                                                         \
    PORTICO_DETAIL_EXPORT const portico_plugin_desc *portico_plugin_v1(void) {                                         \
        return &portico_descriptor_;                                                                                   \
    }                                                                                                                  \
    static void portico_register_handlers_(::portico::Registrar &REG)

#endif // PORTICO_PORTICO_HPP
