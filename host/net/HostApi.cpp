// HostApi.cpp — the table of host functions every plugin receives. Each entry
// is a thin, exception-proof adapter from the C ABI onto the host object the
// opaque handle really is (Connection, Datagram, ServiceHandle, sink).
#include "net/HostApi.h"

#include "net/Connection.h"
#include "net/Datagram.h"
#include "net/ServiceHandle.h"
#include "net/StateSink.h"
#include "plugin/Registrar.h"

#include <Poco/Logger.h>
#include <Poco/Message.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace portico::host {
namespace {

// Copies text into buf NUL-terminated, truncated to cap; returns the full length.
size_t copy_out(const std::string &text, char *buf, size_t cap) {
    if (buf != nullptr && cap > 0) {
        const size_t n = std::min(text.size(), cap - 1);
        std::memcpy(buf, text.data(), n);
        buf[n] = '\0';
    }
    return text.size();
}

int64_t api_read(portico_conn *c, void *buf, size_t cap, int32_t timeout_ms) {
    return c ? c->read(buf, cap, timeout_ms) : int64_t{PORTICO_ERR_INVALID};
}
int64_t api_read_line(portico_conn *c, const char **line, int32_t timeout_ms) {
    return c ? c->read_line(line, timeout_ms) : int64_t{PORTICO_ERR_INVALID};
}
int api_write_all(portico_conn *c, const void *data, size_t len) {
    return c ? c->write_all(data, len) : PORTICO_ERR_INVALID;
}
void api_close(portico_conn *c) {
    if (c) c->close();
}
size_t api_peer_address(portico_conn *c, char *buf, size_t cap) {
    return c ? copy_out(c->peer(), buf, cap) : 0;
}
size_t api_local_address(portico_conn *c, char *buf, size_t cap) {
    return c ? copy_out(c->local(), buf, cap) : 0;
}
void api_set_read_timeout(portico_conn *c, int32_t timeout_ms) {
    if (c) c->set_read_timeout(timeout_ms);
}
portico_service *api_conn_service(portico_conn *c) {
    return c ? &c->service() : nullptr;
}
int api_conn_is_tls(portico_conn *c) {
    return c && c->is_tls() ? 1 : 0;
}
size_t api_conn_peer_subject(portico_conn *c, char *buf, size_t cap) {
    try {
        return copy_out(c ? c->peer_subject() : std::string(), buf, cap);
    } catch (...) {
        return copy_out("", buf, cap);
    }
}

const void *api_dgram_data(portico_datagram *d, size_t *len) {
    if (d == nullptr) return nullptr;
    if (len) *len = d->size;
    return d->data;
}
size_t api_dgram_peer_address(portico_datagram *d, char *buf, size_t cap) {
    if (d == nullptr) return 0;
    try {
        return copy_out(portico::host::datagram_sender_text(d->sender, d->sender_unbound), buf, cap);
    } catch (...) {
        return copy_out("", buf, cap);
    }
}
int api_dgram_reply(portico_datagram *d, const void *data, size_t len) {
    return d ? d->reply(data, len) : PORTICO_ERR_INVALID;
}
int api_dgram_send_to(portico_datagram *d, const char *address, const void *data, size_t len) {
    return d ? d->send_to(address, data, len) : PORTICO_ERR_INVALID;
}
portico_service *api_dgram_service(portico_datagram *d) {
    return d ? d->service : nullptr;
}

const char *api_service_name(portico_service *svc) {
    return svc ? svc->name.c_str() : "";
}
const char *api_config_get(portico_service *svc, const char *key) {
    if (svc == nullptr || key == nullptr) return nullptr;
    const auto it = svc->settings.find(key);
    return it == svc->settings.end() ? nullptr : it->second.c_str();
}
int api_stopping(portico_service *svc) {
    return svc && svc->stopping.load() ? 1 : 0;
}

Poco::Message::Priority priority_of(int level) {
    switch (level) {
    case PORTICO_LOG_DEBUG:
        return Poco::Message::PRIO_DEBUG;
    case PORTICO_LOG_INFO:
        return Poco::Message::PRIO_INFORMATION;
    case PORTICO_LOG_WARNING:
        return Poco::Message::PRIO_WARNING;
    default:
        return Poco::Message::PRIO_ERROR;
    }
}

void api_log(portico_service *svc, portico_conn *conn, int level, const char *message) {
    try {
        Poco::Logger &logger = svc ? svc->logger : Poco::Logger::get("portico.plugin");
        const auto prio = priority_of(level);
        if (!logger.is(prio)) return;
        std::string text;
        if (svc) text += "service '" + svc->name + "'";
        if (conn) text += (text.empty() ? "peer " : " peer ") + conn->peer();
        if (!text.empty()) text += ": ";
        text += message ? message : "(null)";
        logger.log(Poco::Message(logger.name(), text, prio));
    } catch (...) {
        // Logging must never throw into plugin code.
    }
}

int api_sink_write(portico_sink *sink, const void *data, size_t len) {
    if (sink == nullptr || (data == nullptr && len > 0)) return PORTICO_ERR_INVALID;
    try {
        sink->bytes.append(static_cast<const char *>(data), len);
        return PORTICO_OK;
    } catch (...) {
        return PORTICO_ERR_IO;
    }
}

size_t api_conn_proxy_address(portico_conn *c, char *buf, size_t cap) {
    return copy_out(c ? c->proxy() : std::string(), buf, cap);
}

const portico_host_api table = {
    sizeof(portico_host_api),
    PORTICO_ABI_VERSION,
    PORTICO_ABI_MINOR,
    0,
    &registrar_add,
    &registrar_fail,
    &api_read,
    &api_read_line,
    &api_write_all,
    &api_close,
    &api_peer_address,
    &api_local_address,
    &api_set_read_timeout,
    &api_conn_service,
    &api_dgram_data,
    &api_dgram_peer_address,
    &api_dgram_reply,
    &api_dgram_send_to,
    &api_dgram_service,
    &api_service_name,
    &api_config_get,
    &api_stopping,
    &api_log,
    &api_sink_write,
    &api_conn_is_tls,
    &api_conn_peer_subject,
    &api_conn_proxy_address,
};

} // namespace

const portico_host_api *host_api() {
    return &table;
}

} // namespace portico::host
