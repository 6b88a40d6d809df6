/* reverse_c — a plugin in plain C against portico.h alone, proof that the
 * ABI is a C boundary: no C++ runtime, no SDK header-only glue.
 *
 * Handler "reverse_c.reverse": answers every line with its bytes reversed.
 * When the service sets `greeting`, each connection is first greeted with
 * "<greeting> (connection N)", N counting the service's connections — state
 * kept per service and handed to the next version on a hot reload. */
#include "portico/portico.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const portico_host_api *host;

/* Per bound service: made in service_open, freed in service_close. */
typedef struct reverse_service {
    portico_service *svc;
    atomic_ullong connections;
} reverse_service;

static int reverse_open(void *user, portico_service *svc, void **state) {
    (void)user;
    reverse_service *s = calloc(1, sizeof *s);
    if (s == NULL) return PORTICO_ERR_HANDLER;
    s->svc = svc;
    atomic_init(&s->connections, 0);
    *state = s;
    return PORTICO_OK;
}

static void reverse_close(void *user, void *state) {
    (void)user;
    free(state);
}

static int greet(reverse_service *s, portico_conn *conn) {
    const char *greeting = host->config_get(s->svc, "greeting");
    const unsigned long long n = atomic_fetch_add(&s->connections, 1) + 1;
    if (greeting == NULL) return PORTICO_OK;
    char buf[512];
    const int len = snprintf(buf, sizeof buf, "%s (connection %llu)\n", greeting, n);
    if (len < 0) return PORTICO_ERR_HANDLER;
    return host->write_all(conn, buf, (size_t)len < sizeof buf ? (size_t)len : sizeof buf - 1);
}

static int reverse_stream(void *user, void *state, portico_conn *conn) {
    (void)user;
    int rc = greet(state, conn);
    char *out = NULL;
    size_t cap = 0;
    while (rc == PORTICO_OK) {
        const char *line = NULL;
        const int64_t n = host->read_line(conn, &line, PORTICO_TIMEOUT_DEFAULT);
        if (n <= 0) {
            rc = n == 0 ? PORTICO_OK : (int)n;
            break;
        }
        size_t len = (size_t)n;
        const int newline = line[len - 1] == '\n';
        if (newline) --len;
        if (len > 0 && line[len - 1] == '\r') --len;
        if (len + 1 > cap) {
            char *bigger = realloc(out, len + 1);
            if (bigger == NULL) {
                rc = PORTICO_ERR_HANDLER;
                break;
            }
            out = bigger;
            cap = len + 1;
        }
        for (size_t i = 0; i < len; ++i)
            out[i] = line[len - 1 - i];
        out[len] = '\n';
        rc = host->write_all(conn, out, len + 1);
    }
    free(out);
    if (rc == PORTICO_ERR_CLOSED || rc == PORTICO_ERR_STOPPING) rc = PORTICO_OK; /* the peer left: routine */
    return rc;
}

/* Hand-off: the connection counter as 8 little-endian bytes. */
static int reverse_export(void *user, void *state, portico_sink *sink) {
    (void)user;
    const reverse_service *s = state;
    unsigned long long n = atomic_load(&s->connections);
    unsigned char bytes[8];
    for (int i = 0; i < 8; ++i, n >>= 8)
        bytes[i] = (unsigned char)(n & 0xff);
    return host->sink_write(sink, bytes, sizeof bytes);
}

static int reverse_import(void *user, void *state, const void *data, size_t len) {
    (void)user;
    reverse_service *s = state;
    if (len != 8) return PORTICO_ERR_INVALID;
    const unsigned char *bytes = data;
    unsigned long long n = 0;
    for (int i = 7; i >= 0; --i)
        n = (n << 8) | bytes[i];
    atomic_store(&s->connections, n);
    return PORTICO_OK;
}

static int reverse_init(const portico_host_api *api, portico_registrar *reg) {
    /* Everything used here is in ABI 1.0: accept any host whose table has it. */
    if (api->size < offsetof(portico_host_api, sink_write) + sizeof api->sink_write) {
        api->fail(reg, "reverse_c needs a host API table of at least ABI 1.0");
        return PORTICO_ERR_INVALID;
    }
    host = api;
    portico_handler_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.size = sizeof desc;
    desc.kind = PORTICO_HANDLER_STREAM;
    desc.name = "reverse";
    desc.service_open = reverse_open;
    desc.service_close = reverse_close;
    desc.handle_stream = reverse_stream;
    desc.state_export = reverse_export;
    desc.state_import = reverse_import;
    return host->register_handler(reg, &desc);
}

static const portico_plugin_desc descriptor = {
    PORTICO_MAGIC,     PORTICO_ABI_VERSION,
    PORTICO_ABI_MINOR, sizeof(portico_plugin_desc),
    "reverse_c",       "1.0.0",
    reverse_init,      NULL,
};

PORTICO_PLUGIN_ENTRY(&descriptor)
