// PluginTestSupport.h — shared helpers of the plugin unit tests: temp dirs,
// paths of the built test plugins, and a host api table with a fake
// connection, so a loaded handler can be run without sockets.
#pragma once

#include "plugin/PluginVersion.h"
#include "plugin/Registrar.h"
#include "portico/portico.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <vector>

#ifndef PORTICO_TEST_PLUGIN_DIR
#error "PORTICO_TEST_PLUGIN_DIR must name the directory of the built test plugins"
#endif
#ifndef PORTICO_PLUGIN_DIR
#error "PORTICO_PLUGIN_DIR must name the directory of the built shipped plugins"
#endif

namespace portico::host::plugin_test {

namespace fs = std::filesystem;

inline fs::path test_plugin(const std::string &name) {
    return fs::path(PORTICO_TEST_PLUGIN_DIR) / (name + ".so");
}
inline fs::path shipped_plugin(const std::string &name) {
    return fs::path(PORTICO_PLUGIN_DIR) / (name + ".so");
}

// A private directory, removed with everything in it.
class TempDir {
public:
    TempDir() {
        std::string templ = (fs::temp_directory_path() / "portico-plugin-test-XXXXXX").string();
        if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = fs::canonical(templ);
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    const fs::path &path() const { return path_; }
    fs::path operator/(const std::string &name) const { return path_ / name; }

private:
    fs::path path_;
};

inline std::string read_file(const fs::path &file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_file(const fs::path &file, const std::string &bytes) {
    std::error_code ignored;
    fs::remove(file, ignored); // a new inode, as a compiler's output would be
    std::ofstream out(file, std::ios::binary);
    out << bytes;
}

inline void copy_plugin(const fs::path &from, const fs::path &to) {
    write_file(to, read_file(from));
}

inline std::vector<fs::path> files_in(const fs::path &dir) {
    std::vector<fs::path> out;
    for (const auto &entry : fs::directory_iterator(dir))
        out.push_back(entry.path());
    return out;
}

// kB of resident memory, from /proc/self/status.
inline long rss_kb() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

// A connection made of a string of input lines; collects what is written.
struct FakeConn {
    std::string input;
    size_t pos = 0;
    std::string line; // what the last read_line pointed into
    std::string output;
    bool closed = false;
};

inline FakeConn &fake(portico_conn *c) {
    return *reinterpret_cast<FakeConn *>(c);
}

struct LogSink {
    std::mutex mutex;
    std::vector<std::string> messages;
};
inline LogSink &plugin_logs() {
    static LogSink sink;
    return sink;
}

inline const portico_host_api *test_host_api() {
    static const portico_host_api api = [] {
        portico_host_api t{};
        t.size = sizeof t;
        t.abi_version = PORTICO_ABI_VERSION;
        t.abi_minor = PORTICO_ABI_MINOR;
        t.register_handler = &registrar_add;
        t.fail = &registrar_fail;
        t.read = [](portico_conn *c, void *buf, size_t cap, int32_t) -> int64_t {
            auto &f = fake(c);
            const size_t n = std::min(cap, f.input.size() - f.pos);
            std::copy_n(f.input.data() + f.pos, n, static_cast<char *>(buf));
            f.pos += n;
            return static_cast<int64_t>(n);
        };
        t.read_line = [](portico_conn *c, const char **line, int32_t) -> int64_t {
            auto &f = fake(c);
            if (f.closed) return PORTICO_ERR_CLOSED;
            if (f.pos >= f.input.size()) return 0;
            const auto nl = f.input.find('\n', f.pos);
            const size_t end = nl == std::string::npos ? f.input.size() : nl + 1;
            f.line = f.input.substr(f.pos, end - f.pos);
            f.pos = end;
            *line = f.line.data();
            return static_cast<int64_t>(f.line.size());
        };
        t.write_all = [](portico_conn *c, const void *data, size_t len) -> int {
            fake(c).output.append(static_cast<const char *>(data), len);
            return PORTICO_OK;
        };
        t.close = [](portico_conn *c) { fake(c).closed = true; };
        t.peer_address = [](portico_conn *, char *buf, size_t cap) -> size_t {
            if (cap) buf[0] = '\0';
            return 0;
        };
        t.local_address = t.peer_address;
        t.set_read_timeout = [](portico_conn *, int32_t) {};
        t.conn_service = [](portico_conn *) -> portico_service * { return nullptr; };
        t.dgram_data = [](portico_datagram *, size_t *len) -> const void * {
            *len = 0;
            return "";
        };
        t.dgram_peer_address = [](portico_datagram *, char *buf, size_t cap) -> size_t {
            if (cap) buf[0] = '\0';
            return 0;
        };
        t.dgram_reply = [](portico_datagram *, const void *, size_t) -> int { return PORTICO_OK; };
        t.dgram_send_to = [](portico_datagram *, const char *, const void *, size_t) -> int { return PORTICO_OK; };
        t.dgram_service = [](portico_datagram *) -> portico_service * { return nullptr; };
        t.service_name = [](portico_service *) -> const char * { return "test"; };
        t.config_get = [](portico_service *, const char *) -> const char * { return nullptr; };
        t.stopping = [](portico_service *) -> int { return 0; };
        t.log = [](portico_service *, portico_conn *, int, const char *message) {
            auto &sink = plugin_logs();
            std::lock_guard lock(sink.mutex);
            sink.messages.emplace_back(message ? message : "");
        };
        t.sink_write = [](portico_sink *, const void *, size_t) -> int { return PORTICO_OK; };
        return t;
    }();
    return &api;
}

// Runs one connection through a stream handler of `version`: service_open,
// handle_stream with `input`, service_close. Returns what it wrote.
inline std::string run_stream(const PluginVersion &version, const std::string &handler, const std::string &input) {
    const HandlerEntry *entry = version.find_handler(handler);
    if (entry == nullptr) return "<no handler " + handler + ">";
    const auto &d = entry->desc;
    void *state = nullptr;
    if (d.service_open && d.service_open(d.user, nullptr, &state) != PORTICO_OK) return "<service_open failed>";
    FakeConn conn;
    conn.input = input;
    d.handle_stream(d.user, state, reinterpret_cast<portico_conn *>(&conn));
    if (d.service_close) d.service_close(d.user, state);
    return conn.output;
}

} // namespace portico::host::plugin_test
