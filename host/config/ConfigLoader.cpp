// ConfigLoader.cpp — the schema of portico.yaml: one table of known keys per
// map, then the checks that span several entries (unique names, free ports).
// To add a key, add a row to the table of the map it belongs in.
#include "config/ConfigLoader.h"

#include "config/BoundedFile.h"
#include "config/ByteSize.h"
#include "config/ConfigReader.h"
#include "config/SocketOptionsReader.h"
#include "config/Suggest.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <set>
#include <system_error>
#include <utility>

#include <yaml-cpp/depthguard.h>

namespace portico::host {
namespace {

namespace fs = std::filesystem;

// A worker thread per connection in mode threads: 10 000 idle connections
// with 64KiB stacks cost a few dozen MiB (tests/bench/idle_connections).
constexpr int kMaxThreads = 16384;
constexpr uint64_t kMinStack = 64 * 1024;
constexpr uint64_t kMaxStack = uint64_t{1} << 30;
constexpr uint64_t kMinLine = 16;
constexpr uint64_t kMaxLine = uint64_t{64} << 20;
// The largest UDP payload IPv6 can carry without jumbograms (IPv4: 65507).
constexpr uint64_t kMaxDatagram = 65527;
// A service's settings are a handful of strings; the caps keep an alias bomb
// ("a: &a [*b, *b, …]") or an alias cycle from expanding without end.
constexpr std::size_t kMaxSettings = 10'000;
constexpr int kMaxSettingsDepth = 32;

constexpr std::array<std::string_view, 2> kProtocols{"tcp", "udp"};
constexpr std::array<std::string_view, 4> kModes{"threads", "single", "process", "events"};
constexpr std::array<std::string_view, 2> kEngines{"threads", "events"};
// mode events: fiber stacks are mapped, not committed: a connection costs
// the pages its handler touched, whatever the size.
constexpr int kMaxLoops = 256;
constexpr uint64_t kMaxFiberStack = uint64_t{64} << 20;
constexpr std::array<std::string_view, 8> kLogLevels{"trace",   "debug", "information", "notice",
                                                     "warning", "error", "critical",    "fatal"};
constexpr std::array<std::string_view, 2> kLogFormats{"text", "json"};

bool all_chars_in(std::string_view text, std::string_view extra) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [&](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               extra.find(c) != std::string_view::npos;
    });
}

// ---- plugins ---------------------------------------------------------------

void read_plugin_dir(ConfigReader &r, const YamlValue &v, PluginsConfig &out) {
    const auto text = r.text(v, "a directory path");
    if (!text) return;
    if (text->empty()) {
        r.report(v, "expected a directory path, got an empty string");
        return;
    }
    out.dir = r.resolve(*text);
    out.dir_pos = v.pos;
}

// Names, not paths: the registry only ever loads from plugins.dir.
void read_plugin_list(ConfigReader &r, const YamlValue &v, PluginsConfig &out) {
    const auto items = r.sequence(v, "a list of file names in plugins.dir, like [upper.so, echo.so]");
    if (!items) return;
    std::set<std::string> seen;
    for (const YamlValue &item : *items) {
        const auto name = r.text(item, "a file name like upper.so");
        if (!name) continue;
        if (name->empty() || *name == "." || *name == ".." || name->find('/') != std::string::npos)
            r.report(item, "expected a file name in plugins.dir like upper.so, got '" + *name + "'");
        else if (!seen.insert(*name).second)
            r.report(item, "'" + *name + "' is listed twice");
        else
            out.load.push_back(*name);
    }
}

// Zero would refuse every plugin: init always needs some time.
void read_call_timeout(ConfigReader &r, const YamlValue &v, PluginsConfig &out) {
    const auto value = r.duration(v);
    if (!value) return;
    if (value->count() <= 0) {
        r.report(v,
                 "must be more than 0 (how long a plugin's init or unload may take, like 5s), got " + v.node.Scalar());
        return;
    }
    out.call_timeout = *value;
}

const Schema<PluginsConfig> &plugins_schema() {
    static const Schema<PluginsConfig> schema{
        {"dir", read_plugin_dir, true, "dir: ./plugins"},
        {"load", read_plugin_list},
        {"watch", set_bool(&PluginsConfig::watch)},
        {"drain_timeout", set_duration(&PluginsConfig::drain_timeout)},
        {"call_timeout", read_call_timeout},
        {"strict", set_bool(&PluginsConfig::strict)},
    };
    return schema;
}

// ---- services: threads -------------------------------------------------------

void read_stack(ConfigReader &r, const YamlValue &v, ThreadsConfig &out) {
    const auto bytes = r.byte_size(v, 0, kMaxStack);
    if (!bytes) return;
    if (*bytes != 0 && *bytes < kMinStack) {
        r.report(v, "must be 0 (the platform default) or at least 64KiB, got " + v.node.Scalar());
        return;
    }
    // Stacks are set in pages anyway; rounding up to whole KiB loses nothing.
    out.stack_kib = static_cast<int>((*bytes + 1023) / 1024);
}

const Schema<ThreadsConfig> &threads_schema() {
    static const Schema<ThreadsConfig> schema{
        {"min", set_int(&ThreadsConfig::min, 1, kMaxThreads)},
        {"max", set_int(&ThreadsConfig::max, 1, kMaxThreads)},
        {"idle", set_duration(&ThreadsConfig::idle)},
        {"stack", read_stack},
    };
    return schema;
}

void read_threads(ConfigReader &r, const YamlValue &v, ServiceConfig &out) {
    const std::size_t issues_before = r.issue_count();
    if (!read_map(r, v, threads_schema(), out.threads) || r.issue_count() != issues_before)
        return; // a bad min or max would make the comparison below misleading
    const ThreadsConfig &t = out.threads;
    if (t.min <= t.max) return;
    // Point at max if it was written, else at the min that exceeds the default.
    const auto at = r.lookup(v, "max") ? r.lookup(v, "max") : r.lookup(v, "min");
    r.report(at ? *at : v,
             "threads.min (" + std::to_string(t.min) + ") is greater than threads.max (" + std::to_string(t.max) + ")");
}

// ---- services: events --------------------------------------------------------

void read_fiber_stack(ConfigReader &r, const YamlValue &v, EventsConfig &out) {
    if (const auto bytes = r.byte_size(v, kMinStack, kMaxFiberStack)) out.stack = static_cast<std::size_t>(*bytes);
}

const Schema<EventsConfig> &events_schema() {
    static const Schema<EventsConfig> schema{
        {"loops", set_int(&EventsConfig::loops, 1, kMaxLoops)},
        {"stack", read_fiber_stack},
    };
    return schema;
}

void read_events(ConfigReader &r, const YamlValue &v, ServiceConfig &out) {
    read_map(r, v, events_schema(), out.events);
}

// ---- services ----------------------------------------------------------------

void read_name(ConfigReader &r, const YamlValue &v, ServiceConfig &out) {
    const auto name = r.text(v, "a service name");
    if (!name) return;
    if (!all_chars_in(*name, "_.-")) {
        r.report(v, "bad service name '" + *name + "': use letters, digits, '_', '.' or '-'");
        return;
    }
    out.name = *name;
    out.name_pos = v.pos;
}

void read_listen(ConfigReader &r, const YamlValue &v, ServiceConfig &out) {
    if (auto address = r.listen(v)) {
        out.listen = std::move(*address);
        out.listen_pos = v.pos;
    }
}

// "plugin.handler", or "plugin" alone when the plugin's handler has its name.
void read_handler(ConfigReader &r, const YamlValue &v, ServiceConfig &out) {
    const auto text = r.text(v, "plugin.handler");
    if (!text) return;
    const std::size_t dot = text->find('.');
    std::string plugin = text->substr(0, dot);
    std::string handler = dot == std::string::npos ? plugin : text->substr(dot + 1);
    if (!all_chars_in(plugin, "_-") || !all_chars_in(handler, "_-")) {
        r.report(v, "bad handler '" + *text +
                        "': expected plugin.handler or plugin, each part letters, digits, '_' or '-'");
        return;
    }
    out.plugin = std::move(plugin);
    out.handler = std::move(handler);
    out.handler_pos = v.pos;
}

void read_protocol(ConfigReader &r, const YamlValue &v, ServiceConfig &out) {
    if (const auto text = r.one_of(v, kProtocols)) out.protocol = *text == "udp" ? Protocol::udp : Protocol::tcp;
}

constexpr std::array<std::string_view, 3> kProxyProtocols{"v1", "v2", "any"};

void read_proxy_protocol(ConfigReader &r, const YamlValue &v, ServiceConfig &out) {
    if (const auto text = r.one_of(v, kProxyProtocols))
        out.proxy_protocol = *text == "v1" ? ProxyProtocol::v1 : *text == "v2" ? ProxyProtocol::v2 : ProxyProtocol::any;
}

void read_mode(ConfigReader &r, const YamlValue &v, ServiceConfig &out) {
    if (const auto text = r.one_of(v, kModes))
        out.mode = *text == "single"    ? ServiceMode::single
                   : *text == "process" ? ServiceMode::process
                   : *text == "events"  ? ServiceMode::events
                                        : ServiceMode::threads;
}

void read_engine(ConfigReader &r, const YamlValue &v, ServiceConfig &out) {
    if (const auto text = r.one_of(v, kEngines))
        out.engine = *text == "events" ? WorkerEngine::events : WorkerEngine::threads;
}

void read_max_line(ConfigReader &r, const YamlValue &v, ServiceConfig &out) {
    if (const auto bytes = r.byte_size(v, kMinLine, kMaxLine)) out.max_line = static_cast<std::size_t>(*bytes);
}

void read_max_datagram(ConfigReader &r, const YamlValue &v, ServiceConfig &out) {
    if (const auto bytes = r.byte_size(v, 1, kMaxDatagram)) out.max_datagram = static_cast<std::size_t>(*bytes);
}

// allow: / deny: — a list of networks; each bad entry is reported where it is.
auto read_cidrs(std::vector<Cidr> ServiceConfig::*member) {
    return [=](ConfigReader &r, const YamlValue &v, ServiceConfig &out) {
        const auto items = r.sequence(v, "a list of IP addresses or networks, like [127.0.0.1, 10.0.0.0/8, ::1]");
        if (!items) return;
        for (const YamlValue &item : *items) {
            const auto text = r.text(item, "an IP address or network like 10.0.0.0/8");
            if (!text) continue;
            std::string error;
            if (auto cidr = Cidr::parse(*text, &error))
                (out.*member).push_back(*cidr);
            else
                r.report(item, error);
        }
    };
}

const Schema<RateLimitConfig> &rate_limit_schema() {
    static const Schema<RateLimitConfig> schema{
        {"per_second", set_int(&RateLimitConfig::per_second, 0, 10'000'000), true, "per_second: 1000"},
        {"burst", set_int(&RateLimitConfig::burst, 0, 10'000'000)},
    };
    return schema;
}

void read_rate_limit(ConfigReader &r, const YamlValue &v, ServiceConfig &out) {
    read_map(r, v, rate_limit_schema(), out.rate_limit);
}

void read_accept_rate(ConfigReader &r, const YamlValue &v, ServiceConfig &out) {
    read_map(r, v, rate_limit_schema(), out.accept_rate);
}

// busy_message: one line; the newline is added when missing.
void read_busy_message(ConfigReader &r, const YamlValue &v, ServiceConfig &out) {
    const auto text = r.text(v, "a short line of text, like \"server busy, try later\"");
    if (!text) return;
    if (text->size() > 1024) {
        r.report(v, "busy_message is longer than 1024 bytes; keep it to one short line");
        return;
    }
    // A trailing newline is the line's end; one inside would send several lines.
    const std::string_view body = std::string_view(*text).substr(0, text->ends_with("\r\n") ? text->size() - 2
                                                                    : text->ends_with('\n') ? text->size() - 1
                                                                                            : text->size());
    if (body.find_first_of("\r\n") != std::string_view::npos) {
        r.report(v, "busy_message must be one line, without CR or LF inside (the host adds \\r\\n)");
        return;
    }
    out.busy_message = *text;
    if (!out.busy_message.empty() && out.busy_message.back() != '\n') out.busy_message += "\r\n";
}

// unix_mode: the socket file's permissions, in octal ("0660").
void read_unix_mode(ConfigReader &r, const YamlValue &v, ServiceConfig &out) {
    const auto text = r.text(v, "an octal file mode like \"0660\"");
    if (!text) return;
    const std::string digits = text->starts_with("0o") ? text->substr(2) : *text;
    const bool octal =
        !digits.empty() && digits.size() <= 4 && digits.find_first_not_of("01234567") == std::string::npos;
    if (!octal) {
        r.report(v, "expected an octal file mode like \"0660\" (quote it so YAML keeps the leading 0), got '" + *text +
                        "'");
        return;
    }
    out.unix_mode = std::stoi(digits, nullptr, 8);
}

// Keys only UDP services honour so far; on a TCP service they would be
// silently ignored, which for allow/deny would be a security surprise.
void check_udp_only_keys(ConfigReader &r, const YamlValue &item, const ServiceConfig &service) {
    if (service.protocol == Protocol::udp) return;
    for (const std::string_view key : {"max_datagram", "rate_limit"})
        if (const auto at = r.lookup(item, key))
            r.report(*at, "applies to protocol udp only so far; remove it or set protocol: udp");
}

// mode: process serves streams from worker processes; `workers` means
// nothing without it, so setting it elsewhere is a mistake worth reporting.
void check_process_mode_keys(ConfigReader &r, const YamlValue &item, const ServiceConfig &service) {
    if (service.mode == ServiceMode::process && service.protocol == Protocol::udp)
        if (const auto at = r.lookup(item, "mode"))
            r.report(*at, "mode process applies to protocol tcp only; use threads for udp");
    if (service.mode != ServiceMode::process)
        if (const auto at = r.lookup(item, "workers"))
            r.report(*at, "applies to mode process only; remove it or set mode: process");
    if (service.mode != ServiceMode::process)
        if (const auto at = r.lookup(item, "engine"))
            r.report(*at, "applies to mode process only (what each worker runs); remove it, or set mode: events "
                          "for the events engine in one process");
}

// Mode events, or workers of mode process that run the events engine.
bool runs_events_engine(const ServiceConfig &service) {
    return service.mode == ServiceMode::events ||
           (service.mode == ServiceMode::process && service.engine == WorkerEngine::events);
}

// mode events runs every admitted connection at once on its loops: the
// worker pool and its queue do not exist there, and `events:` means nothing
// in the other modes. Either would be silently ignored: report it.
void check_events_mode_keys(ConfigReader &r, const YamlValue &item, const ServiceConfig &service) {
    if (!runs_events_engine(service)) {
        if (const auto at = r.lookup(item, "events"))
            r.report(*at, service.mode == ServiceMode::process
                              ? "applies to the events engine only; remove it or set engine: events"
                              : "applies to mode events only; remove it or set mode: events");
        return;
    }
    if (service.protocol == Protocol::udp) {
        if (const auto at = r.lookup(item, "mode"))
            r.report(*at, "mode events applies to protocol tcp only; use threads for udp");
        return;
    }
    const std::string what = service.mode == ServiceMode::events ? "mode events" : "engine events";
    if (const auto at = r.lookup(item, "threads"))
        r.report(*at, what + " has no worker threads per connection; size it with events.loops, or remove threads:");
    for (const std::string_view key : {"max_queued", "queue_timeout"})
        if (const auto at = r.lookup(item, key))
            r.report(*at, what + " queues no connection: each admitted one is served at once "
                                 "(max_connections bounds them); remove it");
}

// Walks a service's free-form `config:` map into flat "a.b.0" keys. Aliases
// can make the YAML graph cyclic ("a: &x {b: *x}"), so depth and size are
// capped rather than trusting the input to be a tree.
class SettingsFlattener {
public:
    SettingsFlattener(ConfigReader &reader, const YamlValue &at, std::map<std::string, std::string> &out)
        : reader_(reader), at_(at), out_(out) {}

    // False once a cap was hit (and reported).
    bool add(const YAML::Node &node, const std::string &prefix, int depth) {
        if (depth > kMaxSettingsDepth)
            return stop("settings are nested too deeply (at most " + std::to_string(kMaxSettingsDepth) + " levels)");
        // Counting visited nodes, not entries: empty maps aliased many times
        // add no entries but still cost a visit each.
        if (++visited_ > kMaxSettings)
            return stop("too many settings (at most " + std::to_string(kMaxSettings) + " values)");
        if (node.IsMap()) return add_map(node, prefix, depth);
        if (node.IsSequence()) {
            std::size_t index = 0;
            for (const YAML::Node &item : node)
                if (!add(item, join(prefix, std::to_string(index++)), depth + 1)) return false;
            return true;
        }
        out_[prefix] = node.IsScalar() ? node.Scalar() : std::string{};
        return true;
    }

private:
    static std::string join(const std::string &prefix, const std::string &key) {
        return prefix.empty() ? key : prefix + "." + key;
    }

    bool add_map(const YAML::Node &node, const std::string &prefix, int depth) {
        for (const auto &entry : node) {
            if (!entry.first.IsScalar()) {
                reader_.report(reader_.pos_of(entry.first.Mark()), at_.path,
                               "setting names must be plain text, not a list or map");
                continue;
            }
            if (!add(entry.second, join(prefix, entry.first.Scalar()), depth + 1)) return false;
        }
        return true;
    }

    bool stop(std::string message) {
        reader_.report(at_, std::move(message));
        return false;
    }

    ConfigReader &reader_;
    const YamlValue &at_;
    std::map<std::string, std::string> &out_;
    std::size_t visited_ = 0;
};

void read_settings(ConfigReader &r, const YamlValue &v, ServiceConfig &out) {
    if (v.node.IsNull()) return;
    if (!v.node.IsMap()) {
        r.report(v, "expected a map of settings for the handler, like {greeting: hello}, got " +
                        ConfigReader::describe(v.node));
        return;
    }
    SettingsFlattener(r, v, out.settings).add(v.node, "", 0);
}

// ---- services: tls -------------------------------------------------------------

constexpr std::array<std::string_view, 3> kTlsVerify{"none", "optional", "required"};
constexpr std::array<std::string_view, 2> kTlsVersions{"1.2", "1.3"};

// cert:, key:, ca: — a file path, relative to the config file's folder. The
// files are read when the service starts (and on each reload), not here.
auto read_tls_path(std::filesystem::path TlsConfig::*member, SourcePos TlsConfig::*pos) {
    return [=](ConfigReader &r, const YamlValue &v, TlsConfig &out) {
        const auto text = r.text(v, "a file path");
        if (!text) return;
        if (text->empty()) {
            r.report(v, "expected a file path, got an empty string");
            return;
        }
        out.*member = r.resolve(*text);
        out.*pos = v.pos;
    };
}

void read_tls_verify(ConfigReader &r, const YamlValue &v, TlsConfig &out) {
    if (const auto text = r.one_of(v, kTlsVerify))
        out.verify_client = *text == "required"   ? TlsVerify::required
                            : *text == "optional" ? TlsVerify::optional
                                                  : TlsVerify::none;
}

const Schema<TlsConfig> &tls_schema() {
    static const Schema<TlsConfig> schema{
        {"cert", read_tls_path(&TlsConfig::cert, &TlsConfig::cert_pos), true, "cert: server.crt"},
        {"key", read_tls_path(&TlsConfig::key, &TlsConfig::key_pos), true, "key: server.key"},
        {"ca", read_tls_path(&TlsConfig::ca, &TlsConfig::ca_pos)},
        {"verify_client", read_tls_verify},
        {"min_version", set_choice(&TlsConfig::min_version, kTlsVersions)},
    };
    return schema;
}

void read_tls(ConfigReader &r, const YamlValue &v, ServiceConfig &out) {
    TlsConfig tls;
    const std::size_t issues_before = r.issue_count();
    if (!read_map(r, v, tls_schema(), tls) || r.issue_count() != issues_before) return;
    if (tls.verify_client != TlsVerify::none && tls.ca.empty()) {
        const auto at = r.lookup(v, "verify_client");
        r.report(at ? *at : v, "verify_client needs tls.ca: the CA file that signs the accepted client certificates");
        return;
    }
    out.tls = std::move(tls);
}

// TLS is terminated by the stream services (StreamService); elsewhere `tls:` would be silently plain.
void check_tls_keys(ConfigReader &r, const YamlValue &item, const ServiceConfig &service) {
    const auto at = r.lookup(item, "tls");
    if (!at) return;
    if (service.protocol == Protocol::udp)
        r.report(*at, "TLS applies to protocol tcp only (DTLS is not supported); remove tls: or set protocol: tcp");
    else if (!service.busy_message.empty())
        if (const auto busy = r.lookup(item, "busy_message"))
            r.report(*busy, "busy_message would be sent in plain text to a TLS client; remove it on a tls: service");
}

// The PROXY header is a stream's first bytes: a datagram has no such place,
// and proxy_from / proxy_timeout mean nothing without proxy_protocol.
void check_proxy_keys(ConfigReader &r, const YamlValue &item, const ServiceConfig &service) {
    if (service.protocol == Protocol::udp) {
        for (const std::string_view key : {"proxy_protocol", "proxy_from", "proxy_timeout"})
            if (const auto at = r.lookup(item, key))
                r.report(*at, "PROXY protocol applies to protocol tcp only; remove " + std::string(key) +
                                  ": or set protocol: tcp");
        return;
    }
    if (service.proxy_protocol != ProxyProtocol::off) return;
    for (const std::string_view key : {"proxy_from", "proxy_timeout"})
        if (const auto at = r.lookup(item, key))
            r.report(*at, "applies only with proxy_protocol: v1, v2 or any; remove it or set proxy_protocol");
}

const Schema<ServiceConfig> &service_schema() {
    static const Schema<ServiceConfig> schema{
        {"name", read_name, true, "name: echo"},
        {"listen", read_listen, true, "listen: 127.0.0.1:9000"},
        {"protocol", read_protocol},
        {"handler", read_handler, true, "handler: plugin.handler"},
        {"mode", read_mode},
        {"threads", read_threads},
        {"workers", set_int(&ServiceConfig::workers, 1, 256)},
        {"events", read_events},
        {"max_queued", set_int(&ServiceConfig::max_queued, 0)},
        {"backlog", set_int(&ServiceConfig::backlog, 1)},
        {"tcp_nodelay", set_bool(&ServiceConfig::tcp_nodelay)},
        {"reuse_address", set_bool(&ServiceConfig::reuse_address)},
        {"reuse_port", set_bool(&ServiceConfig::reuse_port)},
        {"max_connections", set_int(&ServiceConfig::max_connections, 1)},
        {"idle_timeout", set_duration(&ServiceConfig::idle_timeout)},
        {"read_timeout", set_duration(&ServiceConfig::read_timeout)},
        {"max_line", read_max_line},
        {"max_datagram", read_max_datagram},
        {"allow", read_cidrs(&ServiceConfig::allow)},
        {"deny", read_cidrs(&ServiceConfig::deny)},
        {"rate_limit", read_rate_limit},
        {"accept_rate", read_accept_rate},
        {"per_source_max", set_int(&ServiceConfig::per_source_max, 0, 1'000'000)},
        {"busy_message", read_busy_message},
        {"queue_timeout", set_duration(&ServiceConfig::queue_timeout)},
        {"keepalive", set_bool(&ServiceConfig::keepalive)},
        {"unix_mode", read_unix_mode},
        {"access_log", set_bool(&ServiceConfig::access_log)},
        {"tls", read_tls},
        {"config", read_settings},
        {"engine", read_engine},
        {"proxy_protocol", read_proxy_protocol},
        {"proxy_from", read_cidrs(&ServiceConfig::proxy_from)},
        {"proxy_timeout", set_duration(&ServiceConfig::proxy_timeout)},
        {"socket_options", read_socket_options},
    };
    return schema;
}

void read_services(ConfigReader &r, const YamlValue &v, Config &out) {
    const auto items = r.sequence(v, "a list of services (- name: ..., listen: ..., handler: ...)");
    if (!items) return;
    if (items->empty()) {
        r.report(v, "must list at least one service (- name: echo, listen: 127.0.0.1:9000, handler: echo)");
        return;
    }
    // Every entry is kept, even a broken one, so services[i] matches the file.
    for (const YamlValue &item : *items) {
        ServiceConfig service;
        service.pos = item.pos;
        if (read_map(r, item, service_schema(), service)) {
            check_udp_only_keys(r, item, service);
            check_process_mode_keys(r, item, service);
            check_events_mode_keys(r, item, service);
            check_tls_keys(r, item, service);
            check_proxy_keys(r, item, service);
            check_socket_options(r, item, service);
        }
        out.services.push_back(std::move(service));
    }
}

// ---- admin, logging, top level -----------------------------------------------

void read_admin_listen(ConfigReader &r, const YamlValue &v, AdminConfig &out) {
    if (auto address = r.listen(v)) {
        out.listen = std::move(*address);
        out.listen_pos = v.pos;
    }
}

// Host names, so a request for http://portico.internal:9900/ is accepted
// while a rebound attacker's name is not.
void read_admin_hosts(ConfigReader &r, const YamlValue &v, AdminConfig &out) {
    const auto items = r.sequence(v, "a list of host names this admin server is reached by, like [portico.internal]");
    if (!items) return;
    for (const YamlValue &item : *items) {
        const auto name = r.text(item, "a host name like portico.internal");
        if (!name) continue;
        if (name->empty() || name->find_first_of(":/ []") != std::string::npos)
            r.report(item, "expected a host name without port or scheme, like portico.internal, got '" + *name + "'");
        else
            out.hosts.push_back(*name);
    }
}

const Schema<AdminConfig> &admin_schema() {
    static const Schema<AdminConfig> schema{
        {"listen", read_admin_listen},
        {"token", set_text(&AdminConfig::token)},
        {"hosts", read_admin_hosts},
    };
    return schema;
}

// The short names other tools use (info, warn, …) are accepted too, in any
// case, and stored as Poco's name.
void read_log_level(ConfigReader &r, const YamlValue &v, LoggingConfig &out) {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 4> aliases{
        {{"info", "information"}, {"warn", "warning"}, {"err", "error"}, {"crit", "critical"}}};
    static constexpr std::array<std::string_view, 12> accepted{"trace",  "debug",    "information", "info",
                                                               "notice", "warning",  "warn",        "error",
                                                               "err",    "critical", "crit",        "fatal"};
    const std::string expected = list_alternatives(kLogLevels) + " (or info, warn, err, crit)";
    const auto typed = r.text(v, expected);
    if (!typed) return;
    std::string text = *typed;
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const auto &[alias, name] : aliases)
        if (text == alias) text = name;
    if (std::find(kLogLevels.begin(), kLogLevels.end(), text) != kLogLevels.end()) {
        out.level = text;
        return;
    }
    std::string message = "expected " + expected + ", got '" + *typed + "'";
    if (const auto suggestion = closest_match(text, accepted)) message += " (did you mean '" + *suggestion + "'?)";
    r.report(v, std::move(message));
}

const Schema<LoggingConfig> &logging_schema() {
    static const Schema<LoggingConfig> schema{
        {"level", read_log_level},
        {"format", set_choice(&LoggingConfig::format, kLogFormats)},
    };
    return schema;
}

template <class T> auto nested(T Config::*member, const Schema<T> &(*schema)()) {
    return [=](ConfigReader &r, const YamlValue &v, Config &out) { read_map(r, v, schema(), out.*member); };
}

const Schema<Config> &config_schema() {
    static const Schema<Config> schema{
        {"plugins", nested(&Config::plugins, plugins_schema), true, "plugins: {dir: ./plugins}"},
        {"services", read_services, true, "services: [{name: echo, listen: 127.0.0.1:9000, handler: echo}]"},
        {"admin", nested(&Config::admin, admin_schema)},
        {"logging", nested(&Config::logging, logging_schema)},
        {"shutdown_timeout", set_duration(&Config::shutdown_timeout)},
        {"user", set_text(&Config::user)},
        {"drain_delay", set_duration(&Config::drain_delay)},
    };
    return schema;
}

// ---- checks across entries -----------------------------------------------------

std::string service_path(std::size_t index) {
    return "services[" + std::to_string(index) + "]";
}

void check_unique_names(ConfigReader &r, const std::vector<ServiceConfig> &services) {
    for (std::size_t i = 0; i < services.size(); ++i) {
        if (services[i].name.empty()) continue;
        for (std::size_t j = 0; j < i; ++j) {
            if (services[j].name != services[i].name) continue;
            r.report(services[i].name_pos, service_path(i) + ".name",
                     "duplicate service name '" + services[i].name + "' (first defined at " +
                         services[j].name_pos.to_string() + ")");
            break;
        }
    }
}

bool is_wildcard(const std::string &host) {
    return host == "0.0.0.0" || host == "::";
}

// Whether binding both would fail. Port 0 asks the kernel for a free port, so
// it never clashes; a wildcard host covers every address on its port (Linux
// lets [::] take IPv4 too). TCP and UDP have separate port spaces.
bool clashes(const ListenAddress &a, Protocol pa, const ListenAddress &b, Protocol pb) {
    if (a.kind != b.kind) return false;
    if (a.kind == ListenAddress::Kind::unix_path) return a.path == b.path;
    if (pa != pb || a.port == 0 || a.port != b.port) return false;
    return a.host == b.host || is_wildcard(a.host) || is_wildcard(b.host);
}

// "listen address X is already used by service 'a'", if an earlier service
// is bound where `address` wants to be.
std::optional<std::string> clash_message(const std::vector<ServiceConfig> &services, std::size_t before,
                                         const ListenAddress &address, Protocol protocol) {
    for (std::size_t j = 0; j < before; ++j) {
        const ServiceConfig &other = services[j];
        if (other.listen_pos.line == 0 || !clashes(address, protocol, other.listen, other.protocol)) continue;
        const std::string name = other.name.empty() ? service_path(j) : other.name;
        std::string message = "listen address " + address.to_string() + " is already used by service '" + name + "'";
        // A wildcard overlap is not obvious from the two texts; spell it out.
        if (other.listen.to_string() != address.to_string())
            message += " (which listens on " + other.listen.to_string() + ")";
        return message;
    }
    return std::nullopt;
}

void check_free_addresses(ConfigReader &r, const Config &config) {
    const auto &services = config.services;
    for (std::size_t i = 0; i < services.size(); ++i) {
        if (services[i].listen_pos.line == 0) continue; // listen was missing or bad: already reported
        if (auto message = clash_message(services, i, services[i].listen, services[i].protocol))
            r.report(services[i].listen_pos, service_path(i) + ".listen", std::move(*message));
    }
    if (!config.admin.listen) return;
    // The admin server is HTTP, so TCP.
    if (auto message = clash_message(services, services.size(), *config.admin.listen, Protocol::tcp))
        r.report(config.admin.listen_pos, "admin.listen", std::move(*message));
}

bool is_loopback_host(const std::string &host) {
    return host.empty() || host == "localhost" || host == "::1" || host.starts_with("127.");
}

// Anyone who can reach a non-loopback admin port could reload the host, so it
// needs a token: admin.token or $PORTICO_ADMIN_TOKEN of this environment.
void check_admin_token(ConfigReader &r, const AdminConfig &admin) {
    if (!admin.listen || admin.listen->kind != ListenAddress::Kind::inet || is_loopback_host(admin.listen->host))
        return;
    const char *env = std::getenv("PORTICO_ADMIN_TOKEN");
    if (!admin.token.empty() || (env && *env)) return;
    r.report(admin.listen_pos, "admin.listen",
             admin.listen->to_string() +
                 " is reachable beyond this machine, and no token is set: set admin.token (or "
                 "$PORTICO_ADMIN_TOKEN), or listen on loopback (127.0.0.1:PORT) or a unix: socket");
}

void read_document(ConfigReader &r, const YAML::Node &root, Config &config) {
    const YamlValue document = r.document(root);
    if (root.IsNull()) {
        r.report(document, "the config is empty: expected a map with at least 'plugins' and 'services'");
        return;
    }
    if (!read_map(r, document, config_schema(), config)) return;
    check_unique_names(r, config.services);
    check_free_addresses(r, config);
    check_admin_token(r, config.admin);
}

std::string join_issues(const std::vector<ConfigIssue> &issues) {
    std::string text;
    for (const ConfigIssue &issue : issues)
        text += (text.empty() ? "" : "\n") + issue.to_string();
    return text;
}

// The line of the second document's "---" marker; yaml-cpp gives a null
// document no position, so fall back to scanning for the marker.
SourcePos second_document_pos(const std::string &yaml, ConfigReader &reader, const YAML::Node &second) {
    std::size_t line = 1, start = 0, markers = 0;
    bool content_before = false;
    while (start < yaml.size()) {
        const std::size_t end = std::min(yaml.find('\n', start), yaml.size());
        const std::string_view text(yaml.data() + start, end - start);
        if (text.starts_with("---") && (text.size() == 3 || text[3] == ' ' || text[3] == '\r' || text[3] == '\t')) {
            // A leading "---" opens the first document; any later one a second.
            if (content_before || markers > 0) return SourcePos{"", static_cast<int>(line), 1};
            ++markers;
        } else if (!text.empty() && text[0] != '#' && text.find_first_not_of(" \t\r") != std::string_view::npos) {
            content_before = true;
        }
        start = end + 1;
        ++line;
    }
    return reader.pos_of(second.Mark());
}

[[noreturn]] void throw_one(const fs::path &file, int line, int column, std::string message) {
    throw ConfigError({ConfigIssue{SourcePos{file.string(), line, column}, "", std::move(message)}});
}

} // namespace

const char *to_string(Protocol protocol) {
    return protocol == Protocol::udp ? "udp" : "tcp";
}

const char *to_string(ServiceMode mode) {
    switch (mode) {
    case ServiceMode::threads:
        return "threads";
    case ServiceMode::single:
        return "single";
    case ServiceMode::process:
        return "process";
    case ServiceMode::events:
        return "events";
    }
    return "threads";
}

std::string SourcePos::to_string() const {
    if (line <= 0) return file;
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string ConfigIssue::to_string() const {
    return pos.to_string() + ": " + (key.empty() ? "" : key + ": ") + message;
}

ConfigError::ConfigError(std::vector<ConfigIssue> issues)
    : std::runtime_error(join_issues(issues)), issues_(std::move(issues)) {}

namespace {

// Parses and reads `yaml`; problems with keys go to `issues`, a file that is
// not YAML at all throws.
Config read_config_text(const std::string &yaml, const fs::path &file, std::vector<ConfigIssue> &issues) {
    std::error_code ec;
    const fs::path absolute = fs::absolute(file, ec).lexically_normal();
    ConfigReader reader(file.string(), (ec ? file : absolute).parent_path());

    std::vector<YAML::Node> documents;
    try {
        documents = YAML::LoadAll(yaml);
    } catch (const YAML::DeepRecursion &e) {
        const SourcePos pos = reader.pos_of(e.mark);
        throw_one(file, pos.line, pos.column,
                  "YAML nesting too deep here (more than about " + std::to_string(kMaxYamlDepth) +
                      " levels of lists and maps); a portico config needs a handful, flatten it");
    } catch (const YAML::Exception &e) {
        const SourcePos pos = reader.pos_of(e.mark);
        throw_one(file, pos.line, pos.column, "YAML syntax error: " + e.msg);
    }
    // Everything after the first document would be silently ignored.
    if (documents.size() > 1) {
        const SourcePos pos = second_document_pos(yaml, reader, documents[1]);
        throw_one(file, pos.line, pos.column,
                  "a second YAML document starts here; a config is one document: remove this '---' and what "
                  "follows, or merge it into the first");
    }
    const YAML::Node root = documents.empty() ? YAML::Node() : documents.front();

    Config config;
    config.file = ec ? file : absolute;
    read_document(reader, root, config);
    issues = reader.take_issues();
    return config;
}

std::string read_config_bytes(const fs::path &file) {
    try {
        return read_config_named_file(file, kMaxConfigBytes, "config file");
    } catch (const BoundedFileError &e) {
        throw_one(file, 0, 0, "cannot read config file: " + e.reason());
    }
}

} // namespace

Config load_config_text(const std::string &yaml, const fs::path &file) {
    std::vector<ConfigIssue> issues;
    Config config = read_config_text(yaml, file, issues);
    if (!issues.empty()) throw ConfigError(std::move(issues));
    return config;
}

Config load_config_file(const fs::path &file) {
    return load_config_text(read_config_bytes(file), file);
}

Config load_config_file(const fs::path &file, std::vector<ConfigIssue> &issues) {
    return read_config_text(read_config_bytes(file), file, issues);
}

} // namespace portico::host
