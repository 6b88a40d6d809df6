/* Test plugin "abort_open" 1.0.0: stream handler "echo" whose service_open
 * calls abort(), so whichever process opens a service on it dies. For mode
 * process, where that must be a worker and never the master. */
#include "portico/portico.h"

#include <stdlib.h>

static int open_service(void *user, portico_service *svc, void **out) {
    (void)user;
    (void)svc;
    (void)out;
    abort();
}

static int echo(void *user, void *state, portico_conn *conn) {
    (void)user;
    (void)state;
    (void)conn;
    return PORTICO_OK;
}

static int init(const portico_host_api *host, portico_registrar *reg) {
    const portico_handler_desc handler = {
        sizeof(portico_handler_desc), PORTICO_HANDLER_STREAM, "echo", NULL, open_service, NULL, echo, NULL, NULL, NULL};
    return host->register_handler(reg, &handler);
}

static const portico_plugin_desc descriptor = {
    PORTICO_MAGIC, PORTICO_ABI_VERSION, PORTICO_ABI_MINOR, sizeof(portico_plugin_desc), "abort_open", "1.0.0", init, 0};

PORTICO_PLUGIN_ENTRY(&descriptor)
