/* Test plugin "hang_service", built twice (hang_service_a.so, _b.so, with
 * HANG_VERSION "1" and "2"): stream handler "echo" answers "v<VERSION>
 * <line>". The service's `config: {hang: open|close|export|import}` makes
 * that per-service entry point never return, so the host's deadline on it
 * (plugins.call_timeout) can be seen at work. */
#include "portico/portico.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef HANG_VERSION
#error "build with -DHANG_VERSION=\"1\" or \"2\""
#endif

static const portico_host_api *api;

struct service_state {
    char hang[16]; /* which entry point never returns, "" for none */
};

static void hang_if(const struct service_state *state, const char *entry) {
    if (strcmp(state->hang, entry) != 0) return;
    for (;;)
        pause(); /* the host blocks signals on its threads: this is for good */
}

static int open_service(void *user, portico_service *svc, void **out) {
    (void)user;
    struct service_state *state = calloc(1, sizeof *state);
    if (state == NULL) return PORTICO_ERR_HANDLER;
    const char *hang = api->config_get(svc, "hang");
    if (hang != NULL) strncpy(state->hang, hang, sizeof state->hang - 1);
    *out = state;
    hang_if(state, "open");
    return PORTICO_OK;
}

static void close_service(void *user, void *state) {
    (void)user;
    hang_if(state, "close");
    free(state);
}

static int echo(void *user, void *state, portico_conn *conn) {
    (void)user;
    (void)state;
    const char *line = NULL;
    int64_t n;
    while ((n = api->read_line(conn, &line, PORTICO_TIMEOUT_DEFAULT)) > 0) {
        static const char tag[] = "v" HANG_VERSION " ";
        if (api->write_all(conn, tag, sizeof tag - 1) != PORTICO_OK) return PORTICO_OK;
        if (api->write_all(conn, line, (size_t)n) != PORTICO_OK) return PORTICO_OK;
    }
    return PORTICO_OK;
}

static int export_state(void *user, void *state, portico_sink *sink) {
    (void)user;
    hang_if(state, "export");
    return api->sink_write(sink, "state", 5);
}

static int import_state(void *user, void *state, const void *data, size_t len) {
    (void)user;
    (void)data;
    (void)len;
    hang_if(state, "import");
    return PORTICO_OK;
}

static int init(const portico_host_api *host, portico_registrar *reg) {
    api = host;
    const portico_handler_desc handler = {sizeof(portico_handler_desc),
                                          PORTICO_HANDLER_STREAM,
                                          "echo",
                                          NULL,
                                          open_service,
                                          close_service,
                                          echo,
                                          NULL,
                                          export_state,
                                          import_state};
    return host->register_handler(reg, &handler);
}

static const portico_plugin_desc descriptor = {PORTICO_MAGIC,
                                               PORTICO_ABI_VERSION,
                                               PORTICO_ABI_MINOR,
                                               sizeof(portico_plugin_desc),
                                               "hang_service",
                                               HANG_VERSION,
                                               init,
                                               0};

PORTICO_PLUGIN_ENTRY(&descriptor)
