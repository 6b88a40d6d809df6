/* A library whose constructor crashes as soon as it is loaded, before the
 * host could check anything: abort() (ctor_abort.so) or a write through a
 * null pointer (ctor_segv.so, built with CTOR_SEGV). The host must survive
 * it: the file is loaded first in a check process. */
#include "portico/portico.h"

#include <stdint.h>
#include <stdlib.h>

#ifdef CTOR_SEGV
/* Read through a volatile: the compiler cannot prove the address is null,
 * so it cannot drop the store as undefined behaviour. */
static volatile uintptr_t nowhere = 0;
#endif

__attribute__((constructor)) static void crash_on_load(void) {
#ifdef CTOR_SEGV
    *(volatile int *)nowhere = 42;
#else
    abort();
#endif
}

static int never_called(const portico_host_api *host, portico_registrar *reg) {
    (void)host;
    (void)reg;
    abort();
}

static const portico_plugin_desc descriptor = {PORTICO_MAGIC,     PORTICO_ABI_VERSION,
                                               PORTICO_ABI_MINOR, sizeof(portico_plugin_desc),
                                               "ctor_crash",      "1.0",
                                               never_called,      0};

PORTICO_PLUGIN_ENTRY(&descriptor)
