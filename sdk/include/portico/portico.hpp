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

#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
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

    // Used by the SDK glue; not for plugin code.
    void attach(const portico_host_api *host, portico_service *svc) {
        host_ = host;
        svc_ = svc;
    }
    const portico_host_api *host_api() const { return host_; }
    portico_service *raw() const { return svc_; }

private:
    const portico_host_api *host_ = nullptr;
    portico_service *svc_ = nullptr;
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
    // until the next read on this stream. Throws IoError(PORTICO_ERR_TOO_LONG)
    // for a line over the service's max_line.
    std::optional<std::string_view> read_line(Timeout timeout = std::nullopt) {
        const char *line = nullptr;
        const int64_t n = host_->read_line(conn_, &line, detail::to_ms(timeout));
        if (n < 0) detail::throw_status(n);
        if (n == 0) return std::nullopt;
        return std::string_view(line, static_cast<size_t>(n));
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

private:
    const portico_host_api *host_;
    portico_conn *conn_;
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

// Base of stream handlers: override handle(), optionally setup()/finish().
template <class Context = ServiceContext> class BasicStreamHandler {
public:
    using context_type = Context;
    virtual ~BasicStreamHandler() = default;
    virtual void setup() {}
    virtual void handle() = 0;
    virtual void finish() {}

    Stream &stream() { return *stream_; }
    Context &context() { return *context_; }

    void attach(Stream &stream, Context &context) {
        stream_ = &stream;
        context_ = &context;
    }

private:
    Stream *stream_ = nullptr;
    Context *context_ = nullptr;
};
using StreamHandler = BasicStreamHandler<ServiceContext>;

// Base of datagram handlers: override handle(Datagram&).
template <class Context = ServiceContext> class BasicDatagramHandler {
public:
    using context_type = Context;
    virtual ~BasicDatagramHandler() = default;
    virtual void setup() {}
    virtual void handle(Datagram &datagram) = 0;
    virtual void finish() {}

    Context &context() { return *context_; }
    void attach(Context &context) { context_ = &context; }

private:
    Context *context_ = nullptr;
};
using DatagramHandler = BasicDatagramHandler<ServiceContext>;

namespace detail {

// What the plugin keeps per registered handler; `user` in the C descriptor.
struct HandlerEntry {
    const portico_host_api *host = nullptr;
    std::string name;
};

template <class Context> int open_service(void *user, portico_service *svc, void **state) {
    auto *entry = static_cast<HandlerEntry *>(user);
    try {
        auto ctx = std::make_unique<Context>();
        ctx->attach(entry->host, svc);
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

// Runs setup/handle/finish like socketserver's BaseRequestHandler; turns any
// exception into a logged error and a status code.
template <class Body>
int guarded(const portico_host_api *host, portico_service *svc, portico_conn *conn, const std::string &handler,
            Body &&body) {
    try {
        body();
        return PORTICO_OK;
    } catch (const IoError &e) {
        // The peer went away or a timeout hit: routine, not a handler bug.
        const int level = e.status() == PORTICO_ERR_TIMEOUT || e.status() == PORTICO_ERR_TOO_LONG ? PORTICO_LOG_INFO
                                                                                                  : PORTICO_LOG_DEBUG;
        host->log(svc, conn, level, ("handler '" + handler + "': " + e.what()).c_str());
        return e.status();
    } catch (const std::exception &e) {
        host->log(svc, conn, PORTICO_LOG_ERROR, ("handler '" + handler + "' threw: " + e.what()).c_str());
    } catch (...) {
        host->log(svc, conn, PORTICO_LOG_ERROR, ("handler '" + handler + "' threw a non-std exception").c_str());
    }
    return PORTICO_ERR_HANDLER;
}

template <class Handler> int handle_stream(void *user, void *state, portico_conn *conn) {
    using Context = typename Handler::context_type;
    auto *entry = static_cast<HandlerEntry *>(user);
    const portico_host_api *host = entry->host;
    const int rc = guarded(host, host->conn_service(conn), conn, entry->name, [&] {
        Stream stream(host, conn);
        Handler handler;
        // Called through the base so overrides may be private in the plugin.
        BasicStreamHandler<Context> &base = handler;
        base.attach(stream, *static_cast<Context *>(state));
        base.setup();
        // finish() runs after handle() however it ended, but outside any
        // catch block: it may flush to the stream, and in mode events a
        // connection's fiber must not wait while the runtime is handling an
        // exception for it.
        std::exception_ptr failure;
        try {
            base.handle();
        } catch (...) {
            failure = std::current_exception();
        }
        base.finish();
        if (failure) std::rethrow_exception(failure);
    });
    if (rc == PORTICO_ERR_HANDLER) host->close(conn);
    return rc;
}

template <class Handler> int handle_datagram(void *user, void *state, portico_datagram *d) {
    using Context = typename Handler::context_type;
    auto *entry = static_cast<HandlerEntry *>(user);
    const portico_host_api *host = entry->host;
    return guarded(host, host->dgram_service(d), nullptr, entry->name, [&] {
        Datagram datagram(host, d);
        Handler handler;
        BasicDatagramHandler<Context> &base = handler;
        base.attach(*static_cast<Context *>(state));
        base.setup();
        std::exception_ptr failure;
        try {
            base.handle(datagram);
        } catch (...) {
            failure = std::current_exception();
        }
        base.finish();
        if (failure) std::rethrow_exception(failure);
    });
}

} // namespace detail

// Handed to the PORTICO_PLUGIN block; registers the plugin's handlers.
class Registrar {
public:
    Registrar(const portico_host_api *host, portico_registrar *reg,
              std::vector<std::unique_ptr<detail::HandlerEntry>> &entries)
        : host_(host), reg_(reg), entries_(entries) {}

    template <class Handler> void stream(const std::string &name) {
        static_assert(std::is_base_of_v<BasicStreamHandler<typename Handler::context_type>, Handler>,
                      "stream<T>: T must derive from portico::BasicStreamHandler");
        using Context = typename Handler::context_type;
        add<Context>(name, PORTICO_HANDLER_STREAM, &detail::handle_stream<Handler>, nullptr);
    }

    template <class Handler> void datagram(const std::string &name) {
        static_assert(std::is_base_of_v<BasicDatagramHandler<typename Handler::context_type>, Handler>,
                      "datagram<T>: T must derive from portico::BasicDatagramHandler");
        using Context = typename Handler::context_type;
        add<Context>(name, PORTICO_HANDLER_DATAGRAM, nullptr, &detail::handle_datagram<Handler>);
    }

    const portico_host_api *host() const { return host_; }

private:
    template <class Context>
    void add(const std::string &name, uint32_t kind, decltype(portico_handler_desc::handle_stream) stream,
             decltype(portico_handler_desc::handle_datagram) datagram) {
        static_assert(std::is_base_of_v<ServiceContext, Context>, "a context must derive from portico::ServiceContext");
        auto entry = std::make_unique<detail::HandlerEntry>();
        entry->host = host_;
        entry->name = name;
        portico_handler_desc desc{};
        desc.size = sizeof desc;
        desc.kind = kind;
        desc.name = entry->name.c_str();
        desc.user = entry.get();
        desc.service_open = &detail::open_service<Context>;
        desc.service_close = &detail::close_service<Context>;
        desc.handle_stream = stream;
        desc.handle_datagram = datagram;
        desc.state_export = &detail::export_service<Context>;
        desc.state_import = &detail::import_service<Context>;
        if (host_->register_handler(reg_, &desc) != PORTICO_OK)
            throw std::runtime_error("cannot register handler '" + name + "'");
        entries_.push_back(std::move(entry));
    }

    const portico_host_api *host_;
    portico_registrar *reg_;
    std::vector<std::unique_ptr<detail::HandlerEntry>> &entries_;
};

namespace detail {
// The plugin-wide glue behind PORTICO_PLUGIN: owns the handler entries.
class PluginGlue {
public:
    using RegisterFn = void (*)(Registrar &);

    int init(const portico_host_api *host, portico_registrar *reg, RegisterFn fn) {
        try {
            Registrar registrar(host, reg, entries_);
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
