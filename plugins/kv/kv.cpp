// kv — an in-memory key-value store that speaks enough RESP2 for redis-cli
// and redis-benchmark (strings, lists, sets, hashes, sorted sets, expiry).
// One store per bound service; its keys are handed to the next version of
// this plugin on a hot reload (export_state/import_state, StateCodec.h).
#include "Commands.h"
#include "Resp.h"
#include "StateCodec.h"

#include <portico/portico.hpp>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#ifndef PORTICO_KV_VERSION
#define PORTICO_KV_VERSION "1.1.0"
#endif

namespace {

namespace kv = portico::kv;
namespace resp = portico::kv::resp;

// The service's keys. Every command runs under one lock: commands are short,
// and a single lock makes MSET, INCR and the hand-off atomic.
class Store : public portico::ServiceContext {
public:
    void open() override {
        limits_.max_bulk = parse_size(config("max_value_bytes"), limits_.max_bulk);
        limits_.max_args = parse_size(config("max_args"), limits_.max_args);
    }

    // After the export this store is retired: sessions still on the old
    // version are told to reconnect, so no write lands in a store nobody
    // will read again.
    std::string export_state() override {
        std::lock_guard lock(mutex_);
        std::string out = kv::encode_state(keys_, kv::now_ms());
        retired_ = true;
        log(portico::LogLevel::info, "handed " + std::to_string(keys_.size()) + " key(s) to the next plugin version");
        return out;
    }

    void import_state(std::string_view bytes) override {
        std::lock_guard lock(mutex_);
        const auto count = kv::decode_state(bytes, keys_, kv::now_ms());
        if (!count) {
            // A format this version does not know: start empty rather than
            // refuse the reload and leave the retired store serving.
            log(portico::LogLevel::warning, "previous version's state is in an unknown format; starting empty");
            return;
        }
        log(portico::LogLevel::info, "took over " + std::to_string(*count) + " key(s)");
    }

    const resp::Limits &limits() const { return limits_; }

    // Runs one command and appends its reply. False: close the connection
    // after sending what `out` holds.
    bool execute(const kv::Args &args, std::string &out) {
        std::lock_guard lock(mutex_);
        if (retired_) {
            resp::append_error(out, "ERR the kv plugin was reloaded: reconnect to reach the new version");
            return false;
        }
        return kv::execute(keys_, server_, args, out, kv::now_ms()) == kv::After::keep_open;
    }

private:
    static std::size_t parse_size(const std::optional<std::string> &text, std::size_t fallback) {
        if (!text) return fallback;
        const auto n = resp::parse_int64(*text);
        return n && *n > 0 ? static_cast<std::size_t>(*n) : fallback;
    }

    std::mutex mutex_;
    kv::Keyspace keys_;
    const kv::ServerInfo server_{PORTICO_KV_VERSION, kv::now_ms()};
    bool retired_ = false;
    resp::Limits limits_;
};

// One client connection: reads what arrives, answers every complete command
// in it (a pipelined batch gets one write), keeps the unfinished rest.
class Session : public portico::BasicStreamHandler<Store> {
    static constexpr auto poll_interval = std::chrono::milliseconds(250);
    static constexpr std::size_t flush_at = 64 * 1024;

    void handle() override {
        std::string in;
        std::string out;
        resp::Command command;
        char buf[16 * 1024];
        for (;;) {
            std::size_t pos = 0;
            for (;;) {
                resp::parse_command(std::string_view(in).substr(pos), command, context().limits());
                if (command.status == resp::ParseStatus::incomplete) break;
                if (command.status == resp::ParseStatus::error) {
                    resp::append_error(out, "ERR Protocol error: " + command.error);
                    stream().write_all(out);
                    return;
                }
                pos += command.consumed;
                if (command.args.empty()) continue;
                if (!context().execute(command.args, out)) {
                    stream().write_all(out);
                    return;
                }
                if (out.size() >= flush_at) {
                    stream().write_all(out);
                    out.clear();
                }
            }
            if (!out.empty()) {
                stream().write_all(out);
                out.clear();
            }
            in.erase(0, pos);
            const std::size_t n = read_some(buf, sizeof buf);
            if (n == 0) return;
            in.append(buf, n);
        }
    }

    // Waits for bytes in short slices so that a host shutdown is noticed at
    // once; 0 at end of stream or when the host is stopping. The host's
    // idle_timeout still ends a connection that stays silent.
    std::size_t read_some(char *buf, std::size_t cap) {
        for (;;) {
            try {
                return stream().read(buf, cap, poll_interval);
            } catch (const portico::IoError &e) {
                if (e.status() != PORTICO_ERR_TIMEOUT) throw;
                if (stream().stopping()) return 0;
            }
        }
    }
};

} // namespace

PORTICO_PLUGIN("kv", PORTICO_KV_VERSION, reg) {
    reg.stream<Session>("kv");
}
