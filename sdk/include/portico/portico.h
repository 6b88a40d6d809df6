/* portico.h — the whole C ABI between the Portico host and a handler plugin.
 *
 * A plugin exports exactly one symbol, `portico_plugin_v1`, a function that
 * returns a pointer to a static descriptor. The host reads the descriptor's
 * magic and ABI version before it calls any other plugin code, and refuses a
 * mismatch naming both versions. Everything else the plugin does goes through
 * the table of host functions it is handed in `init`: a plugin never links
 * against the host, so it loads with RTLD_LOCAL and any compiler, standard
 * library or language that speaks C can build one.
 *
 * Rules of the boundary: opaque handles only; no STL, no C++ exceptions;
 * every struct that may grow starts with its own size so a newer minor
 * version can append fields without breaking older plugins or hosts.
 */
#ifndef PORTICO_PORTICO_H
#define PORTICO_PORTICO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "PRTC" — first field of every descriptor; never changes. */
#define PORTICO_MAGIC 0x50525443u
/* Major ABI version: bumped only for incompatible changes. */
#define PORTICO_ABI_VERSION 1u
/* Minor version: grows when fields are appended to the size-prefixed structs. */
#define PORTICO_ABI_MINOR 2u
/* The exported entry point's name, as a string for dlsym. */
#define PORTICO_ENTRY_SYMBOL "portico_plugin_v1"

/* ---- opaque handles (owned by the host) -------------------------------- */
typedef struct portico_conn portico_conn;           /* one stream connection  */
typedef struct portico_datagram portico_datagram;   /* one received datagram  */
typedef struct portico_service portico_service;     /* one bound service      */
typedef struct portico_registrar portico_registrar; /* valid during init only */
typedef struct portico_sink portico_sink;           /* byte sink for state export */

/* ---- status codes: negative returns of the I/O functions ---------------- */
enum portico_status {
    PORTICO_OK = 0,
    PORTICO_ERR_TIMEOUT = -1,  /* nothing arrived within the timeout          */
    PORTICO_ERR_CLOSED = -2,   /* connection reset or closed by the host      */
    PORTICO_ERR_TOO_LONG = -3, /* line longer than the service's max_line     */
    PORTICO_ERR_STOPPING = -4, /* host or service is shutting down            */
    PORTICO_ERR_INVALID = -5,  /* bad argument (null buffer, unknown key, …)  */
    PORTICO_ERR_IO = -6,       /* any other socket error                      */
    PORTICO_ERR_HANDLER = -7   /* returned by a handler that failed           */
};

enum portico_log_level { PORTICO_LOG_DEBUG = 0, PORTICO_LOG_INFO = 1, PORTICO_LOG_WARNING = 2, PORTICO_LOG_ERROR = 3 };

enum portico_handler_kind {
    PORTICO_HANDLER_STREAM = 1,  /* called once per TCP connection */
    PORTICO_HANDLER_DATAGRAM = 2 /* called once per UDP datagram   */
};

/* Bits of portico_handler_desc.traits (minor 2). */
enum portico_handler_trait {
    /* The handler may block outside the Stream calls (sleep, a blocking
     * client library, a condition variable): the host refuses to bind it to
     * a `mode: events` service, whose loops it would stall.              */
    PORTICO_TRAIT_BLOCKING = 1u,
    /* Nothing outside this handler's own fiber (another connection's
     * handler, a thread of the plugin, a callback) reads or writes objects
     * on the handler's stack while it waits in a Stream call. In mode events
     * the host may then move the stack's bytes of a connection that has
     * waited long to a heap block of their size and give its pages back
     * (an idle connection costs what its frames hold, not a page); they are
     * back at the same addresses before the handler runs again. Ignored in
     * the other modes.                                                     */
    PORTICO_TRAIT_STACK_PRIVATE = 2u
};

/* Timeout argument meaning "use the service's configured read_timeout". */
#define PORTICO_TIMEOUT_DEFAULT (-1)
/* Timeout argument meaning "wait without limit" (idle_timeout still applies). */
#define PORTICO_TIMEOUT_INFINITE (-2)

/* ---- a handler, as registered by the plugin ------------------------------
 * `user` is the plugin's own pointer, passed back to every callback.
 * Per-service state: `service_open` runs once when a service binds this
 * handler in this plugin version, before any connection; what it stores in
 * *state is passed to every call for that service and to `service_close`.
 * State hand-off across a hot reload (optional): when a newer version of the
 * plugin takes over a service, the host calls the old version's
 * `state_export` and hands the bytes to the new version's `state_import`,
 * which runs after its `service_open`.
 * Callbacks return PORTICO_OK or a negative portico_status.              */
typedef struct portico_handler_desc {
    uint32_t size;    /* sizeof(portico_handler_desc) as the plugin saw it */
    uint32_t kind;    /* enum portico_handler_kind                         */
    const char *name; /* unique within the plugin: [A-Za-z0-9_-]+       */
    void *user;

    int (*service_open)(void *user, portico_service *svc, void **state);
    void (*service_close)(void *user, void *state);

    int (*handle_stream)(void *user, void *state, portico_conn *conn);
    int (*handle_datagram)(void *user, void *state, portico_datagram *dgram);

    int (*state_export)(void *user, void *state, portico_sink *sink);
    int (*state_import)(void *user, void *state, const void *data, size_t len);

    /* ---- minor 2: appended; the host reads them only from a plugin built
     * for minor 2 or later whose `size` covers them.
     * -- traits: PORTICO_TRAIT_* bits; 0 for a handler that blocks only in
     * the host's I/O calls. */
    uint32_t traits;
    uint32_t reserved2; /* 0 */
    /* -- verify_request (optional, stream handlers): decides on the accept
     * path, before a session starts and after the config's allow/deny and
     * rate limits, whether to serve a connection. peer and local are
     * formatted like peer_address. Return PORTICO_OK to accept it; anything
     * else refuses it: the host writes `message` (if the callback wrote a
     * non-empty, NUL-terminated text into it, at most message_cap bytes
     * with the NUL) to the client, closes the connection, counts the refusal
     * (reason "verify_request") and logs it. It runs on the accepting thread
     * (in mode events: the event loop), so it must not block.           */
    int (*verify_request)(void *user, void *state, const char *peer, const char *local, char *message,
                          size_t message_cap);
} portico_handler_desc;

/* ---- minor 2: wake-ups ----------------------------------------------------
 * A notifier is a flag any thread may raise (notifier_signal), that a
 * stream handler waits on together with its peer's bytes
 * (conn_wait_readable_or). Signals coalesce, and one raised before the wait
 * is kept for it: the wait that reports it lowers it.                      */
typedef struct portico_notifier portico_notifier;
/* Bits of a successful conn_wait_readable_or. */
#define PORTICO_WAIT_READABLE 1 /* a read would not wait: bytes, or end of stream */
#define PORTICO_WAIT_NOTIFIED 2 /* the notifier was signalled (or destroyed)      */

/* ---- the functions the host offers -------------------------------------- */
typedef struct portico_host_api {
    uint32_t size;        /* sizeof(portico_host_api) as the host built it */
    uint32_t abi_version; /* PORTICO_ABI_VERSION of the host               */
    uint32_t abi_minor;   /* PORTICO_ABI_MINOR of the host                 */
    uint32_t reserved;

    /* -- registration, valid only inside the plugin's init ---------------- */
    /* Copies the descriptor (up to its size). Fails on a duplicate name. */
    int (*register_handler)(portico_registrar *reg, const portico_handler_desc *desc);
    /* Records why init failed; the host logs it with the plugin's file. */
    void (*fail)(portico_registrar *reg, const char *reason);

    /* -- stream connections ------------------------------------------------ */
    /* Reads up to cap bytes. Returns bytes read (>0), 0 at end of stream, or
     * a negative portico_status. Bytes already buffered by read_line come
     * first. timeout_ms: >=0, PORTICO_TIMEOUT_DEFAULT or _INFINITE.        */
    int64_t (*read)(portico_conn *c, void *buf, size_t cap, int32_t timeout_ms);
    /* Reads one line including its '\n' (a last line without one is returned
     * at end of stream). *line points into the host's buffer and stays valid
     * until the next read, read_line, read_view or conn_wait_readable_or on
     * this connection (each may move or free the buffer). Returns the length,
     * 0 at end of stream, or a negative status; PORTICO_ERR_TOO_LONG when no
     * '\n' came within the service's max_line bytes.                       */
    int64_t (*read_line)(portico_conn *c, const char **line, int32_t timeout_ms);
    /* Writes all len bytes or fails. Returns PORTICO_OK or a negative status. */
    int (*write_all)(portico_conn *c, const void *data, size_t len);
    /* Shuts the connection down; later reads return PORTICO_ERR_CLOSED. */
    void (*close)(portico_conn *c);
    /* Formats "host:port" ("[v6]:port", "unix:/path") into buf, NUL-terminated
     * and truncated to cap; returns the full length it needs without NUL. */
    size_t (*peer_address)(portico_conn *c, char *buf, size_t cap);
    size_t (*local_address)(portico_conn *c, char *buf, size_t cap);
    /* Changes the default read timeout for this connection (ms, >=0). */
    void (*set_read_timeout)(portico_conn *c, int32_t timeout_ms);
    /* The service this connection belongs to. */
    portico_service *(*conn_service)(portico_conn *c);

    /* -- datagrams --------------------------------------------------------- */
    const void *(*dgram_data)(portico_datagram *d, size_t *len);
    size_t (*dgram_peer_address)(portico_datagram *d, char *buf, size_t cap);
    int (*dgram_reply)(portico_datagram *d, const void *data, size_t len);
    int (*dgram_send_to)(portico_datagram *d, const char *address, const void *data, size_t len);
    portico_service *(*dgram_service)(portico_datagram *d);

    /* -- the bound service ------------------------------------------------- */
    /* The service's name from the YAML file. Valid for the service's life. */
    const char *(*service_name)(portico_service *svc);
    /* The service's `config:` value for key, as text; NULL when absent. Valid
     * for the service's life. Nested keys use dots: "limits.max".          */
    const char *(*config_get)(portico_service *svc, const char *key);
    /* Non-zero once the host or this service is stopping: finish up. */
    int (*stopping)(portico_service *svc);

    /* -- logging: svc and conn may be NULL; the host adds what they name -- */
    void (*log)(portico_service *svc, portico_conn *conn, int level, const char *message);

    /* -- state hand-off ---------------------------------------------------- */
    int (*sink_write)(portico_sink *sink, const void *data, size_t len);

    /* ---- minor 1: appended; check `size` covers a field before calling it,
     * (PORTICO_HOST_HAS below).
     * -- TLS (the host terminates it; I/O above is the same either way) ---- */
    /* Non-zero when the connection came in over TLS (`tls:` in the YAML). */
    int (*conn_is_tls)(portico_conn *c);
    /* The subject of the client certificate the host verified against
     * tls.ca ("CN=alice,O=Example": the certificate's order, comma-separated),
     * formatted like peer_address; returns
     * 0 and writes "" when there is none (plain, or no certificate sent). */
    size_t (*conn_peer_subject)(portico_conn *c, char *buf, size_t cap);

    /* minor 2 */
    /* -- PROXY protocol (`proxy_protocol:` in the YAML) --------------------- */
    /* The load balancer's own address ("host:port") when the connection came
     * through one that sent a PROXY header; peer_address is then the client
     * the header names. Formatted like peer_address; returns 0 and writes ""
     * on a connection without a header (or a v2 LOCAL one: a health check). */
    size_t (*conn_proxy_address)(portico_conn *c, char *buf, size_t cap);

    /* -- wake-ups (see portico_notifier above) ----------------------------- */
    /* A new notifier, lowered; NULL when out of memory. Any thread. */
    portico_notifier *(*notifier_create)(void);
    /* Raises the flag and wakes the waits on it. Any thread (a handler, a
     * thread the plugin started, another event loop); never blocks. */
    void (*notifier_signal)(portico_notifier *n);
    /* Frees the handle: no signal or new wait may use it afterwards. Waits
     * in progress on it (other sessions) return PORTICO_WAIT_NOTIFIED. */
    void (*notifier_destroy)(portico_notifier *n);
    /* Waits until c is readable or n is raised, or timeout_ms passes,
     * without polling (mode events: only the fiber waits). Readable: the
     * host holds bytes of c (received now, or TLS bytes decrypted earlier)
     * or saw its end, so a read, or a read_line of a line the peer sent
     * whole, returns without waiting. PORTICO_ERR_STOPPING within half a
     * second once the service is stopping. Returns a mask of
     * PORTICO_WAIT_* (>0), or PORTICO_ERR_TIMEOUT, _CLOSED, _STOPPING, _IO,
     * _INVALID. n may be NULL (waits for readability only). */
    int (*conn_wait_readable_or)(portico_conn *c, portico_notifier *n, int32_t timeout_ms);

    /* -- borrowed reads ---------------------------------------------------- */
    /* Lends the next bytes of the stream, at most max: *data points into the
     * host's buffer and stays valid until the next read, read_line,
     * read_view or conn_wait_readable_or on this connection. Returns their
     * number (>0), 0 at end of stream, or a negative status. A handler that
     * reads this way keeps no buffer of its own, and the host holds none
     * while the connection waits for bytes: an idle connection then costs
     * little memory (docs/bench.md).                                      */
    int64_t (*read_view)(portico_conn *c, const char **data, size_t max, int32_t timeout_ms);
} portico_host_api;

/* Whether the host's table (its own `size`) has `field`: a plugin built for a
 * newer minor version checks this before calling an appended function, so it
 * still runs on an older host.  if (PORTICO_HOST_HAS(host, conn_is_tls)) ... */
#define PORTICO_HOST_HAS(api, field)                                                                                   \
    ((api)->size >= offsetof(portico_host_api, field) + sizeof((api)->field) && (api)->field != NULL)

/* ---- the plugin descriptor ----------------------------------------------
 * The first two fields are frozen for every ABI version, so any host can
 * read them from any plugin and refuse what it does not understand.      */
typedef struct portico_plugin_desc {
    uint32_t magic;       /* PORTICO_MAGIC        */
    uint32_t abi_version; /* PORTICO_ABI_VERSION  */
    uint32_t abi_minor;   /* PORTICO_ABI_MINOR    */
    uint32_t size;        /* sizeof(portico_plugin_desc) as the plugin saw it */
    const char *name;     /* plugin name: handlers are bound as name.handler */
    const char *version;  /* the plugin's own version, free text             */
    /* Registers handlers; returns PORTICO_OK or fails via host->fail. The
     * host pointer stays valid until unload returns.                      */
    int (*init)(const portico_host_api *host, portico_registrar *reg);
    /* Optional: called once before the library is closed. */
    void (*unload)(void);
} portico_plugin_desc;

/* The one symbol a plugin exports. Must only return a pointer to a static
 * descriptor: it is called before the magic and version are checked.    */
typedef const portico_plugin_desc *(*portico_plugin_entry)(void);

/* Marks a definition as exported from the plugin, with C linkage even in a
 * C++ file. The SDK's portico_add_plugin builds with hidden visibility, so
 * the entry point must carry it or the host cannot find it.              */
#ifdef __cplusplus
#define PORTICO_EXPORT extern "C" __attribute__((visibility("default")))
#else
#define PORTICO_EXPORT __attribute__((visibility("default")))
#endif

/* Defines the entry point of a plugin written in C, returning `desc` (the
 * address of a static portico_plugin_desc):
 *   static const portico_plugin_desc descriptor = { PORTICO_MAGIC, ... };
 *   PORTICO_PLUGIN_ENTRY(&descriptor)
 * C++ plugins use PORTICO_PLUGIN from portico.hpp instead.               */
#define PORTICO_PLUGIN_ENTRY(desc)                                                                                     \
    PORTICO_EXPORT const portico_plugin_desc *portico_plugin_v1(void) {                                                \
        return (desc);                                                                                                 \
    }

#ifdef __cplusplus
}
#endif

#endif /* PORTICO_PORTICO_H */
