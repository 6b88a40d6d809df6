/* hello_c.c — a Portico plugin in C: handler "hello_c.hello" answers each
 * line with "<greeting>, <line>" (greeting from the service's config, "Hello"
 * by default). Everything it uses is in portico/portico.h. */
#include <portico/portico.h>

#include <stdio.h>
#include <string.h>

static const portico_host_api *host;

static int hello_stream(void *user, void *state, portico_conn *conn) {
    (void)user;
    (void)state;
    const char *greeting = host->config_get(host->conn_service(conn), "greeting");
    if (greeting == NULL) greeting = "Hello";
    for (;;) {
        const char *line = NULL;
        const int64_t n = host->read_line(conn, &line, PORTICO_TIMEOUT_DEFAULT);
        if (n == 0 || n == PORTICO_ERR_CLOSED || n == PORTICO_ERR_STOPPING) return PORTICO_OK; /* peer left */
        if (n < 0) return (int)n;
        char out[1024];
        const int len = snprintf(out, sizeof out, "%s, %.*s", greeting, (int)n, line);
        if (len < 0) return PORTICO_ERR_HANDLER;
        const int rc = host->write_all(conn, out, (size_t)len < sizeof out ? (size_t)len : sizeof out - 1);
        if (rc != PORTICO_OK) return rc == PORTICO_ERR_CLOSED ? PORTICO_OK : rc;
    }
}

static int hello_init(const portico_host_api *api, portico_registrar *reg) {
    host = api;
    portico_handler_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.size = sizeof desc;
    desc.kind = PORTICO_HANDLER_STREAM;
    desc.name = "hello";
    desc.handle_stream = hello_stream;
    return host->register_handler(reg, &desc);
}

static const portico_plugin_desc descriptor = {
    PORTICO_MAGIC, PORTICO_ABI_VERSION, PORTICO_ABI_MINOR, sizeof(portico_plugin_desc), "hello_c", "1.0.0", hello_init,
    NULL,
};

/* The one exported symbol: without PORTICO_PLUGIN_ENTRY (or PORTICO_EXPORT)
 * the SDK's hidden visibility would keep the host from finding it. */
PORTICO_PLUGIN_ENTRY(&descriptor)
