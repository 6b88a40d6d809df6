/* A plugin whose init never returns (it waits for a signal that never
 * comes): the host must refuse it after plugins.call_timeout and keep
 * answering reloads and signals. */
#include "portico/portico.h"

#include <unistd.h>

static int hang_forever(const portico_host_api *host, portico_registrar *reg) {
    (void)host;
    (void)reg;
    for (;;)
        pause();
    return PORTICO_OK;
}

static const portico_plugin_desc descriptor = {PORTICO_MAGIC,     PORTICO_ABI_VERSION,
                                               PORTICO_ABI_MINOR, sizeof(portico_plugin_desc),
                                               "hang_init",       "1.0",
                                               hang_forever,      0};

PORTICO_PLUGIN_ENTRY(&descriptor)
