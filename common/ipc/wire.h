/*
 * wire — the messages a worker sends its coordinator, and the framing that
 * carries them over the worker's socketpair (SOCK_STREAM).
 *
 * A worker turns each HubSpot response into one compact message; the
 * coordinator, the only LMDB writer, reads them from N sockets and merges.
 * Both ends are the same binary, so there is one version and no negotiation:
 * a message of another version is a protocol error.
 *
 * Framing. Every message is a 4-byte big-endian length N (1 ≤ N ≤ the
 * reader's cap) followed by N bytes holding exactly one msgpack array, the
 * envelope [version, kind, fields...]. A reader refuses a length above its cap
 * as soon as the 4 bytes arrive, before allocating or waiting for the body.
 *
 * Messages (fields after [WIRE_VERSION, kind]; "u64" etc. are msgpack
 * integers of any width whose value fits; a list of k-tuples is ONE flat
 * array of k*n items, with no array per tuple, to keep links small):
 *
 *   kind              fields
 *   1 HELLO           slot u32, pid i32 (> 0)
 *   2 ASSOC_SETS      job u64, generation u64, table u16, parents
 *                       parents: [parent_id u64, links] * P
 *                       links:   [child_id u64, types] * L       (per parent)
 *                       types:   [type_id i32, category u8 (< ASSOC_CATEGORY_COUNT),
 *                                 label str (≤ 1024 bytes) | nil] * T   (per link)
 *   3 OBJECTS         job u64, generation u64, object_type u16, items, next_after str | nil
 *                       items: [id u64, lastmodified_ms i64, archived bool, heavy u8] * n
 *   4 SEARCH_RESULT   job u64, generation u64, total u32, hits, next_offset u32 | nil
 *                       hits:  [id u64, lastmodified_ms i64] * n
 *   5 JOB_DONE        job u64, generation u64, status i32 (0 or a negative ERR_*),
 *                     message str, calls u64, retries u64, throttled u64 (429s), bytes u64
 *   6 LOG             level u8 (syslog severity 0 emerg … 7 debug), text str
 *
 * Each parent of ASSOC_SETS carries its COMPLETE association set: a parent
 * with no links means "this parent has no associations now".
 *
 * Errors. Reader errors are sticky: the stream cannot be resynchronised after
 * one, so every later wire_next() returns the same error and the coordinator
 * should drop the worker. The codes: ERR_TOO_BIG (a length prefix above the
 * cap), ERR_PARSE (bytes that are not msgpack, a message cut short inside its
 * frame, bytes left after the envelope, a stream that ended inside a frame),
 * ERR_CORRUPT (valid msgpack that is not a valid message: not an array, wrong
 * version, unknown kind, wrong field count, type or range). Messages name the
 * field ("ASSOC_SETS parents[3] links[5] child_id: expected u64, found a str").
 *
 * Why our own decoder. Encoding uses msgpack-c's packer. Decoding walks the
 * frame directly instead of using msgpack_unpack(): msgpack-c 4 allocates an
 * array's elements as the header announces them, so the 5 bytes
 * "dd ff ff ff ff" make it ask for 128 GiB; and building an object tree per
 * link would cost more than the walk. Here a count is checked against the bytes
 * left in the frame before anything is trusted, and nothing is allocated per
 * link beyond the assoc_buf's own amortised growth.
 */
#ifndef HUBSYNC_WIRE_H
#define HUBSYNC_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../store/assoc.h"
#include "../base/err.h"
#include "../base/jbuf.h"

#define WIRE_VERSION 1

/* A sensible cap for both ends: far above a batch read of 1,000 heavy parents. */
#define WIRE_MAX_MSG_DEFAULT ((size_t)64 << 20)

/* JOB_DONE messages and LOG texts longer than this are cut (at a UTF-8
 * character boundary) by the encoder. */
#define WIRE_TEXT_MAX 4096

typedef enum wire_kind {
    WIRE_HELLO = 1,
    WIRE_ASSOC_SETS = 2,
    WIRE_OBJECTS = 3,
    WIRE_SEARCH_RESULT = 4,
    WIRE_JOB_DONE = 5,
    WIRE_LOG = 6,
    WIRE_KIND_END /* one past the last kind */
} wire_kind;

/* "HELLO", "ASSOC_SETS", …; "UNKNOWN" for anything else. */
const char *wire_kind_name(int kind);

/* ---- message contents ---------------------------------------------------- */

typedef struct wire_object {
    uint64_t wo_id;
    int64_t wo_lastmodified_ms;
    bool wo_archived;
    uint8_t wo_heavy; /* bit i: count field i of the list job is above its heavy_links */
} wire_object;

typedef struct wire_search_hit {
    uint64_t wsh_id;
    int64_t wsh_lastmodified_ms;
} wire_search_hit;

/* A job's request counters, reported with JOB_DONE. */
typedef struct wire_counters {
    uint64_t wc_calls;
    uint64_t wc_retries;
    uint64_t wc_throttled; /* responses with status 429 */
    uint64_t wc_bytes;     /* response body bytes */
} wire_counters;

typedef struct wire_hello {
    uint32_t wh_slot;
    int32_t wh_pid;
} wire_hello;

/* The parents are decoded on demand by wire_assoc_sets_decode(); the body
 * fields are the decoder's, not the caller's. */
typedef struct wire_assoc_sets {
    uint16_t was_table;
    uint32_t was_nparents;
    const unsigned char *was_body; /* the first parent's bytes */
    const unsigned char *was_end;  /* the end of the frame */
} wire_assoc_sets;

typedef struct wire_objects {
    uint16_t wob_object_type;
    const wire_object *wob_items;
    size_t wob_nitems;
    const char *wob_next_after; /* NUL-terminated; NULL when nil (no more pages) */
    size_t wob_next_after_len;
} wire_objects;

typedef struct wire_search_result {
    uint32_t wsr_total;
    const wire_search_hit *wsr_hits;
    size_t wsr_nhits;
    bool wsr_has_next; /* false when next_offset was nil */
    uint32_t wsr_next_offset;
} wire_search_result;

typedef struct wire_job_done {
    int32_t wjd_status;
    const char *wjd_message; /* NUL-terminated (may hold no text) */
    size_t wjd_message_len;
    wire_counters wjd_counters;
} wire_job_done;

typedef struct wire_log {
    uint8_t wl_level;
    const char *wl_text; /* NUL-terminated */
    size_t wl_text_len;
} wire_log;

/* One decoded message. wm_job_id and wm_generation are 0 for HELLO and LOG.
 * Everything it points to belongs to the reader and stays valid until the
 * next wire_next(), wire_read(), wire_feed() or wire_reader_free() on it. */
typedef struct wire_msg {
    wire_kind wm_kind;
    uint64_t wm_job_id;
    uint64_t wm_generation;
    union {
        wire_hello wm_hello;
        wire_assoc_sets wm_assoc;
        wire_objects wm_objects;
        wire_search_result wm_search;
        wire_job_done wm_done;
        wire_log wm_log;
    };
} wire_msg;

/* ---- writer ----------------------------------------------------------------
 *
 * A writer appends framed messages to one growable buffer; wire_flush() sends
 * what is buffered. Messages are never interleaved or split by the writer: a
 * wire_put_*() that fails leaves the buffer exactly as it was. Not thread-safe;
 * one writer per channel.
 */
typedef struct wire_writer {
    char *ww_data;
    size_t ww_len;     /* bytes buffered (sent or not) */
    size_t ww_cap;     /* bytes allocated */
    size_t ww_sent;    /* ww_data[0, ww_sent) are already on the wire */
    size_t ww_max_msg; /* the body cap of one message */
    /* The message being built (internal). */
    size_t ww_msg_start; /* its length prefix */
    size_t ww_avail;     /* min(ww_cap, the cap's end): the fast path's bound */
    int ww_status;       /* 0, ERR_NOMEM or ERR_TOO_BIG */
} wire_writer;

/* Initialises an empty writer whose messages may hold up to max_msg bytes
 * (use the reader's cap, typically WIRE_MAX_MSG_DEFAULT). Allocates nothing.
 * Returns 0, or ERR_INVALID when max_msg is 0 or above UINT32_MAX. */
int wire_writer_init(wire_writer *w, size_t max_msg);

/* Releases the writer's memory; unsent bytes are dropped. */
void wire_writer_free(wire_writer *w);

/* The number of buffered bytes not yet sent. */
size_t wire_writer_pending(const wire_writer *w);

/* The unsent bytes, for a caller doing its own I/O: *len gets their count.
 * Valid until the next call on the writer. */
const char *wire_writer_data(const wire_writer *w, size_t *len);

/* Marks the first n unsent bytes (n ≤ wire_writer_pending()) as sent. */
void wire_writer_consume(wire_writer *w, size_t n);

/* Sends the buffered bytes to fd (send() with MSG_NOSIGNAL on a socket, so a
 * closed peer is an error, not a SIGPIPE; write() on anything else), retrying
 * partial writes and EINTR.
 *
 * Returns 0 when everything was sent (the buffer is then empty);
 * ERR_AGAIN when fd is non-blocking and full: the unsent tail is kept, wait
 * for POLLOUT and call again; ERR_SYS when the system call failed (EPIPE
 * when the peer has gone), the message naming it and errno. */
int wire_flush(wire_writer *w, int fd, err_info *e);

/* Encoders. Each appends one framed message and returns 0, or
 *   ERR_INVALID  an argument is out of range (named in the message),
 *   ERR_TOO_BIG  the message would exceed the writer's max_msg,
 *   ERR_NOMEM    the buffer could not grow,
 * leaving the writer unchanged on error. */

/* HELLO: the worker announces its slot and pid (pid > 0). */
int wire_put_hello(wire_writer *w, uint32_t slot, int32_t pid, err_info *e);

/* ASSOC_SETS: parents [first, first + count) of b, each with its complete link
 * list, for association table `table`. count 0 sends an empty set list.
 * ERR_INVALID when the range is outside b, when a parent still has a paging
 * cursor (ap_has_more: its set is not complete) or a type has a category
 * outside assoc_category. A worker splits a large buffer over several
 * messages by range; the coordinator merges per parent, so any split works. */
int wire_put_assoc_sets(wire_writer *w, uint64_t job_id, uint64_t generation, uint16_t table,
                        const assoc_buf *b, size_t first, size_t count, err_info *e);

/* OBJECTS: a page of the object sync. next_after (next_after_len bytes) is
 * HubSpot's paging cursor; NULL for the last page. */
int wire_put_objects(wire_writer *w, uint64_t job_id, uint64_t generation, uint16_t object_type,
                     const wire_object *items, size_t nitems, const char *next_after,
                     size_t next_after_len, err_info *e);

/* SEARCH_RESULT: a page of Search API results; next_offset is sent only
 * when has_next. */
int wire_put_search_result(wire_writer *w, uint64_t job_id, uint64_t generation, uint32_t total,
                           const wire_search_hit *hits, size_t nhits, bool has_next,
                           uint32_t next_offset, err_info *e);

/* JOB_DONE: status 0 or a negative ERR_* (ERR_INVALID otherwise); message a
 * NUL-terminated text (NULL sends ""), cut at WIRE_TEXT_MAX bytes; counters
 * may be NULL (all zero). */
int wire_put_job_done(wire_writer *w, uint64_t job_id, uint64_t generation, int32_t status,
                      const char *message, const wire_counters *counters, err_info *e);

/* LOG: level 0–7 (syslog severity; ERR_INVALID otherwise); text NUL-terminated,
 * cut at WIRE_TEXT_MAX bytes. */
int wire_put_log(wire_writer *w, uint8_t level, const char *text, err_info *e);

/* ---- reader ----------------------------------------------------------------
 *
 * A reader accumulates the bytes of one stream and yields complete messages.
 * The usual loop, with fd non-blocking and readable:
 *
 *     ssize_t n = wire_read(&r, fd, &e);        // > 0, 0 at EOF, or < 0
 *     while ((rc = wire_next(&r, &msg, &e)) == 1)
 *         handle(&msg);                          // ASSOC_SETS: wire_assoc_sets_decode()
 *     if (rc < 0) drop the worker (protocol error, e.ei_msg says why);
 *     else if (n == 0) the worker closed its end (wire_reader_at_eof() is true);
 */
typedef struct wire_reader {
    unsigned char *wr_buf;
    size_t wr_len;     /* bytes held */
    size_t wr_pos;     /* the first byte not yet yielded as a message */
    size_t wr_cap;     /* bytes allocated */
    size_t wr_max_msg; /* the body cap */
    bool wr_eof;       /* the stream has ended */
    int wr_error;      /* the sticky error, 0 if none */
    char wr_errmsg[ERR_MSG_MAX];
    /* Scratch of the current message: item arrays and NUL-terminated texts. */
    void *wr_items;
    size_t wr_items_cap; /* bytes */
    jbuf wr_text;
} wire_reader;

/* Initialises an empty reader that refuses messages above max_msg bytes.
 * Allocates nothing. Returns 0, or ERR_INVALID when max_msg is 0 or above
 * UINT32_MAX. */
int wire_reader_init(wire_reader *r, size_t max_msg);

/* Releases the reader's memory. */
void wire_reader_free(wire_reader *r);

/* Reads once from fd into the reader (retrying EINTR). The buffer grows to
 * hold the frame being received (never beyond the cap plus one read chunk),
 * so one call may take a whole large frame.
 *
 * Returns the number of bytes read (> 0); 0 at end of stream (the reader
 * remembers it); ERR_AGAIN when fd is non-blocking and has nothing;
 * ERR_SYS when read() failed; ERR_NOMEM; or the sticky error, once
 * wire_next() has found one (then nothing is read). */
ssize_t wire_read(wire_reader *r, int fd, err_info *e);

/* Appends n bytes from another source (tests, fuzzers, a caller doing its
 * own I/O). Returns 0, ERR_NOMEM, or the sticky error. */
int wire_feed(wire_reader *r, const void *data, size_t n, err_info *e);

/* Records that the stream has ended (wire_read() does it itself). */
void wire_reader_set_eof(wire_reader *r);

/* Yields the next complete message into *out.
 *
 * Returns 1 and fills *out; 0 when more bytes are needed (or the stream ended
 * cleanly at a message boundary: see wire_reader_at_eof()); or a negative
 * error, sticky (see the top of this file): ERR_TOO_BIG, ERR_PARSE (also for
 * a stream that ended inside a message), ERR_CORRUPT, ERR_NOMEM.
 *
 * Every field of every kind is checked, except the parents of ASSOC_SETS,
 * which wire_assoc_sets_decode() checks as it decodes them. */
int wire_next(wire_reader *r, wire_msg *out, err_info *e);

/* True when the stream ended exactly at a message boundary and every message
 * has been yielded. */
bool wire_reader_at_eof(const wire_reader *r);

/* Appends the parents of an ASSOC_SETS message to b (the caller resets b when
 * it wants only this message's sets), calling assoc_buf_begin_parent,
 * add_link, add_type and finish_parent, so each parent arrives in canonical
 * form. m must come from the last wire_next() of a reader not touched since.
 *
 * Returns 0; ERR_INVALID when m is not ASSOC_SETS; ERR_PARSE or ERR_CORRUPT
 * for a malformed body (see the top of this file; a label over 1024 bytes or
 * a category outside assoc_category is ERR_CORRUPT); ERR_TOO_BIG when b's
 * label arena would pass 4 GiB; ERR_NOMEM. On error b is restored to its
 * contents on entry, so no partial parent is ever merged. The error is not
 * sticky: the reader goes on with the next message. */
int wire_assoc_sets_decode(const wire_msg *m, assoc_buf *b, err_info *e);

#endif
