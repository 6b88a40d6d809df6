// Config.h — the validated, typed form of portico.yaml that the rest of the
// host reads. Produced only by ConfigLoader; every field has its default here.
#pragma once

#include "config/Cidr.h"
#include "config/ListenAddress.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace portico::host {

using Millis = std::chrono::milliseconds;

// Where a value came from, for error messages: file:line:column.
struct SourcePos {
    std::string file;
    int line = 0;   // 1-based; 0 when unknown
    int column = 0; // 1-based
    std::string to_string() const;
    bool operator==(const SourcePos &) const = default;
};

enum class Protocol { tcp, udp };
enum class ServiceMode { threads, single, process, events };
// mode process: how each worker serves its connections (`engine:`).
enum class WorkerEngine { threads, events };
// PROXY protocol on a TCP service: which header versions a load balancer may send.
enum class ProxyProtocol { off, v1, v2, any };

// The YAML spellings ("tcp", "udp"; "threads", "events", ...).
const char *to_string(Protocol protocol);
const char *to_string(ServiceMode mode);

struct ThreadsConfig {
    int min = 2;
    int max = 16;
    Millis idle = Millis(60'000);
    int stack_kib = 0; // 0: the platform default
    bool operator==(const ThreadsConfig &) const = default;
};

// mode events: event-loop threads, each serving its connections on fibers.
struct EventsConfig {
    int loops = 0;                  // 0: one per CPU
    std::size_t stack = 256 * 1024; // bytes of each connection's fiber stack
    bool operator==(const EventsConfig &) const = default;
};

// Datagrams one source IP address may send (UDP): a token bucket refilled at
// per_second, holding at most burst. per_second 0: no limit.
struct RateLimitConfig {
    int per_second = 0;
    int burst = 0; // 0: per_second
    bool operator==(const RateLimitConfig &) const = default;
};

enum class TlsVerify { none, optional, required };

// A TCP service's `tls:` map. Paths are absolute (resolved against the config
// file's folder). The files' contents are not part of the config: a reload
// re-reads them (StreamService::reload_tls) even when this compares equal.
struct TlsConfig {
    std::filesystem::path cert;
    std::filesystem::path key;
    std::filesystem::path ca; // empty: no client CA
    TlsVerify verify_client = TlsVerify::none;
    std::string min_version = "1.2";     // "1.2" | "1.3"
    SourcePos cert_pos, key_pos, ca_pos; // of the values, for start-up errors

    // Meaning only: moving the lines of a file must not rebind the service.
    bool operator==(const TlsConfig &o) const {
        return cert == o.cert && key == o.key && ca == o.ca && verify_client == o.verify_client &&
               min_version == o.min_version;
    }
};

// One entry of a service's `socket_options:`: setsockopt(level, name, value)
// on the listening socket or on each accepted connection (SocketOption.h
// has the names it may use).
enum class SocketOptionTarget { accepted, listener };
struct SocketOptionConfig {
    std::string level; // as written: "SOL_SOCKET"
    std::string name;  // as written: "SO_KEEPALIVE"
    int level_value = 0;
    int name_value = 0;
    int value = 0;
    SocketOptionTarget on = SocketOptionTarget::accepted;
    SourcePos pos; // of the list entry
    bool operator==(const SocketOptionConfig &) const = default;
};

struct ServiceConfig {
    std::string name;
    ListenAddress listen;
    Protocol protocol = Protocol::tcp;
    std::string plugin;  // "text" of handler: text.upper
    std::string handler; // "upper"
    ServiceMode mode = ServiceMode::threads;
    ThreadsConfig threads;
    int workers = 2;     // mode process: worker processes, each with its own `threads` pool
    EventsConfig events; // mode events
    // mode process: what each worker runs (its `events` or `threads` above)
    WorkerEngine engine = WorkerEngine::threads;
    int max_queued = 64;
    int backlog = 128;
    bool tcp_nodelay = true;
    bool reuse_address = true;
    bool reuse_port = false;
    int max_connections = 1024;
    Millis idle_timeout = Millis(300'000); // no byte from the peer for this long: closed
    Millis read_timeout = Millis(60'000);  // default for one read call
    std::size_t max_line = 64 * 1024;      // read_line limit in bytes
    // UDP only for now: larger datagrams are dropped. socketserver's
    // UDPServer reads 8192 bytes (max_packet_size).
    std::size_t max_datagram = 8192;
    std::vector<Cidr> allow;    // empty: every source; else only these
    std::vector<Cidr> deny;     // checked first: a denied source is never served
    RateLimitConfig rate_limit; // UDP: datagrams per second per source
    // TCP admission (see service/Admission.h)
    RateLimitConfig accept_rate;           // new connections per second per source; 0: unlimited
    int per_source_max = 0;                // open connections per source address; 0: unlimited
    std::string busy_message;              // sent to a refused client before closing ("" : none)
    Millis queue_timeout = Millis(10'000); // longest wait for a worker before being refused
    bool keepalive = false;                // SO_KEEPALIVE on each connection
    int unix_mode = 0660;                  // file mode of a unix: socket
    bool access_log = false;               // one log line per connection (portico.access.<name>)
    std::optional<TlsConfig> tls;          // TLS termination by the host; nullopt: plain TCP
    // PROXY protocol (service/ProxyStage.h): every connection starts with the
    // header of a load balancer that names the real client.
    ProxyProtocol proxy_protocol = ProxyProtocol::off;
    std::vector<Cidr> proxy_from;         // empty: any peer may send the header; else only these proxies
    Millis proxy_timeout = Millis(3'000); // longest wait for the whole header
    // The service's free-form `config:` map, flattened: nested keys joined
    // with '.', sequences as "key.0", "key.1"; scalars as written.
    std::map<std::string, std::string> settings;
    std::vector<SocketOptionConfig> socket_options; // applied in order after the host's own options

    SourcePos pos;         // of the service entry
    SourcePos name_pos;    // of its `name:` value
    SourcePos handler_pos; // of its `handler:` value
    SourcePos listen_pos;  // of its `listen:` value

    // `portico --once`, not a YAML key: serve one connection (or datagram), take no more.
    bool once = false;

    // Positions take part; ConfigDiff clears them to compare meaning only.
    bool operator==(const ServiceConfig &) const = default;
};

struct PluginsConfig {
    std::filesystem::path dir;             // absolute; relative paths resolve against the config file's folder
    std::vector<std::string> load;         // file names in dir to load; empty: every *.so
    bool watch = true;                     // hot reload on file change
    Millis drain_timeout = Millis(30'000); // old versions' sessions are closed after this
    Millis call_timeout = Millis(5'000);   // deadline of a plugin's init/unload (and of its check process)
    bool strict = false;                   // refuse plugins that cannot be unloaded, not only warn
    SourcePos dir_pos;
    bool operator==(const PluginsConfig &) const = default;
};

struct AdminConfig {
    std::optional<ListenAddress> listen; // absent: no admin server
    std::string token;                   // empty: no auth
    std::vector<std::string> hosts;      // names a request's Host may carry besides IPs and localhost
    SourcePos listen_pos;                // of the `listen:` value
    bool operator==(const AdminConfig &) const = default;
};

struct LoggingConfig {
    std::string level = "information"; // Poco level names: debug, information, notice, warning, error, …
    std::string format = "text";       // text | json
    bool operator==(const LoggingConfig &) const = default;
};

struct Config {
    std::filesystem::path file; // the YAML file this came from (absolute)
    PluginsConfig plugins;
    std::vector<ServiceConfig> services;
    AdminConfig admin;
    LoggingConfig logging;
    Millis shutdown_timeout = Millis(10'000);
    std::string user; // drop root privileges to this user once the listeners are bound ("" : stay)
    // SIGTERM, an upgrade or a service removed by reload: /ready answers 503
    // at once, accepting goes on this long (a balancer's health check takes
    // the host out of rotation meanwhile), then the drain begins.
    Millis drain_delay = Millis(0);
};

} // namespace portico::host
