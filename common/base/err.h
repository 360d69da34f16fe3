/*
 * err — the project's one error enum, its strerror, and a small carrier for
 * a message that names what went wrong.
 *
 * Library functions return 0 or a negative ERR_* code and, when the caller
 * passes an err_info, fill it with a human message ("search response: results[3]
 * has no id"). They never exit() and never print.
 */
#ifndef HUBSYNC_ERR_H
#define HUBSYNC_ERR_H

#include <stddef.h>

typedef enum err_code {
    ERR_OK = 0,
    ERR_NOMEM = -1,      /* an allocation failed */
    ERR_SYS = -2,        /* a system call failed (the message names it and errno) */
    ERR_INVALID = -3,    /* a bad argument, flag or configuration value */
    ERR_PARSE = -4,      /* malformed input: JSON, msgpack, a cursor, a number */
    ERR_SHAPE = -5,      /* well-formed, but not the shape HubSpot documents */
    ERR_TOO_BIG = -6,    /* a size cap was exceeded */
    ERR_CORRUPT = -7,    /* stored data (LMDB, a cursor record) is damaged */
    ERR_STORE = -8,      /* LMDB failed (the message carries mdb_strerror) */
    ERR_MAP_FULL = -9,   /* the LMDB map is full (the store grows it and retries) */
    ERR_LOCKED = -10,    /* another run holds this database */
    ERR_HTTP = -11,      /* a transfer failed for good (after retries) */
    ERR_AUTH = -12,      /* authentication failed and cannot be refreshed */
    ERR_DAILY = -13,     /* the daily API limit is exhausted */
    ERR_TIMEOUT = -14,   /* a deadline passed */
    ERR_AGAIN = -15,     /* not now: retry later (transient) */
    ERR_NOT_FOUND = -16, /* the thing asked for does not exist */
    ERR_REJECTED = -17, /* HubSpot refused the request itself (400): sending it again cannot help */
    ERR_TLS = -18 /* the server's TLS certificate cannot be verified (a configuration error) */
} err_code;

/* A short constant description of `code` ("malformed input"). */
const char *err_strerror(int code);

/* Room for a message naming a database file, what is wrong and the way out. */
enum { ERR_MSG_MAX = 512 };

typedef struct err_info {
    int ei_code;
    char ei_msg[ERR_MSG_MAX];
} err_info;

/* Records `code` and the formatted message in `e` (which may be NULL) and
 * returns `code`, so a failure reads `return err_set(e, ERR_PARSE, "…", …);`. */
int err_set(err_info *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes e's message with the formatted context ("store: " …). Returns
 * e->ei_code (0 when e is NULL). */
int err_wrap(err_info *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
