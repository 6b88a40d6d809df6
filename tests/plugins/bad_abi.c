/* A plugin built for a future ABI (99): refused with both versions named,
 * before init runs (init aborts to prove it). */
#include "portico/portico.h"
#include <stdlib.h>

static int never_called(const portico_host_api *host, portico_registrar *reg) {
    (void)host;
    (void)reg;
    abort();
}

static const portico_plugin_desc descriptor = {PORTICO_MAGIC, 99u, 0u, sizeof(portico_plugin_desc),
                                               "bad_abi", "1.0", never_called, 0};

__attribute__((visibility("default"))) const portico_plugin_desc *portico_plugin_v1(void) { return &descriptor; }
