/* A plugin whose descriptor carries the wrong magic: the host must refuse it
 * before calling init (which would abort to prove it was never reached). */
#include "portico/portico.h"
#include <stdlib.h>

static int never_called(const portico_host_api *host, portico_registrar *reg) {
    (void)host;
    (void)reg;
    abort();
}

static const portico_plugin_desc descriptor = {0xDEADBEEFu, PORTICO_ABI_VERSION, PORTICO_ABI_MINOR,
                                               sizeof(portico_plugin_desc), "bad_magic", "1.0", never_called, 0};

__attribute__((visibility("default"))) const portico_plugin_desc *portico_plugin_v1(void) { return &descriptor; }
