// AccessLog.cpp — formatting the access line; the JSON fields ride along as a
// message parameter that the JSON-lines formatter embeds (Logging.cpp).
#include "service/AccessLog.h"

#include "portico/portico.h"

#include <Poco/Logger.h>
#include <Poco/Message.h>

#include <cstdio>
#include <cstring>

namespace portico::host {
namespace {

std::string millis_text(std::chrono::nanoseconds d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(d.count()) / 1e6);
    return buf;
}

// logfmt quoting: bare when the value has no space, quote or '='.
std::string logfmt_value(const std::string &v) {
    if (!v.empty() && v.find_first_of(" \"=\t\n") == std::string::npos) return v;
    std::string out = "\"";
    for (const char c : v) {
        if (c == '"' || c == '\\') out += '\\';
        out += c == '\n' ? ' ' : c;
    }
    return out + "\"";
}

std::string json_string(const std::string &v) {
    std::string out = "\"";
    for (const char c : v) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

} // namespace

const char *to_string(SessionEnd end) {
    switch (end) {
    case SessionEnd::eof:
        return "eof";
    case SessionEnd::handler_error:
        return "handler_error";
    case SessionEnd::timeout:
        return "timeout";
    case SessionEnd::closed_by_host:
        return "closed_by_host";
    case SessionEnd::reset:
        return "reset";
    }
    return "eof";
}

SessionEnd classify_session_end(int handler_rc, bool forced_by_host, const char *host_end_reason) {
    // The host's own action explains the handler's return code, so it wins.
    if (forced_by_host || handler_rc == PORTICO_ERR_STOPPING) return SessionEnd::closed_by_host;
    if (host_end_reason != nullptr && std::strstr(host_end_reason, "timeout") != nullptr) return SessionEnd::timeout;
    switch (handler_rc) {
    case PORTICO_OK:
        return SessionEnd::eof;
    case PORTICO_ERR_TIMEOUT:
        return SessionEnd::timeout;
    case PORTICO_ERR_CLOSED:
    case PORTICO_ERR_IO:
        return SessionEnd::reset;
    default:
        return SessionEnd::handler_error;
    }
}

std::string format_access_text(const AccessRecord &r) {
    std::string line = "access service=" + logfmt_value(r.service) + " peer=" + logfmt_value(r.peer) +
                       (r.proxy.empty() ? std::string() : " proxy=" + logfmt_value(r.proxy)) +
                       " handler=" + logfmt_value(r.handler) + " plugin_version=" + logfmt_value(r.plugin_version) +
                       " generation=" + std::to_string(r.generation) + " duration_ms=" + millis_text(r.duration) +
                       " bytes_in=" + std::to_string(r.bytes_in) + " bytes_out=" + std::to_string(r.bytes_out) +
                       " end=" + to_string(r.end);
    if (!r.detail.empty()) line += " detail=" + logfmt_value(r.detail);
    return line;
}

std::string format_access_json(const AccessRecord &r) {
    std::string out = "{\"service\":" + json_string(r.service) + ",\"peer\":" + json_string(r.peer) +
                      (r.proxy.empty() ? std::string() : ",\"proxy\":" + json_string(r.proxy)) +
                      ",\"handler\":" + json_string(r.handler) +
                      ",\"plugin_version\":" + json_string(r.plugin_version) +
                      ",\"generation\":" + std::to_string(r.generation) +
                      ",\"duration_ms\":" + millis_text(r.duration) + ",\"bytes_in\":" + std::to_string(r.bytes_in) +
                      ",\"bytes_out\":" + std::to_string(r.bytes_out) + ",\"end\":\"" + to_string(r.end) + "\"";
    if (!r.detail.empty()) out += ",\"detail\":" + json_string(r.detail);
    return out + "}";
}

void write_access_log(const AccessRecord &record) {
    Poco::Logger &log = Poco::Logger::get("portico.access." + record.service);
    if (!log.information()) return;
    Poco::Message message(log.name(), format_access_text(record), Poco::Message::PRIO_INFORMATION);
    message.set("fields", format_access_json(record));
    log.log(message);
}

} // namespace portico::host
