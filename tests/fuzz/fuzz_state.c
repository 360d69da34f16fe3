/*
 * fuzz_state — store_state_decode, the reader of the state record that
 * holds each table's cursor (kind none / object_id / timestamp_ms), its
 * full-scan "done" ranges and the last run's figures (common/store/store.h). A
 * damaged record must decode to ERR_CORRUPT, never to a guessed cursor.
 * Checks, besides the sanitizers: a failed decode leaves the state zeroed; a
 * decoded state is one store_put_state would write (known kind, timestamp
 * ≥ 0, known route, ranges ascending and disjoint), so the encoder accepts
 * it, and encoding and decoding it again gives the same state.
 */
#include "../../common/store/store.h"
#include "fuzz.h"

static void check_same(const store_state *a, const store_state *b)
{
    FUZZ_CHECK(a->ss_cursor.cu_kind == b->ss_cursor.cu_kind);
    FUZZ_CHECK(a->ss_cursor.cu_object_id == b->ss_cursor.cu_object_id);
    FUZZ_CHECK(a->ss_cursor.cu_timestamp_ms == b->ss_cursor.cu_timestamp_ms);
    FUZZ_CHECK(a->ss_scan_started_ms == b->ss_scan_started_ms && a->ss_runs == b->ss_runs);
    const store_run *ra = &a->ss_last_run, *rb = &b->ss_last_run;
    FUZZ_CHECK(ra->sr_route == rb->sr_route && ra->sr_started_ms == rb->sr_started_ms &&
               ra->sr_finished_ms == rb->sr_finished_ms && ra->sr_completed == rb->sr_completed);
#define SAME_COUNTER(name) FUZZ_CHECK(ra->sr_##name == rb->sr_##name);
    STORE_RUN_COUNTERS(SAME_COUNTER)
#undef SAME_COUNTER
    FUZZ_CHECK(a->ss_ndone == b->ss_ndone);
    for (uint32_t i = 0; i < a->ss_ndone; i++)
        FUZZ_CHECK(a->ss_done[i].ir_first == b->ss_done[i].ir_first &&
                   a->ss_done[i].ir_last == b->ss_done[i].ir_last);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static store_state st, again, zero; /* 8 KiB each: off the stack */
    err_info e;
    memset(&st, 0x5a, sizeof(st));
    int rc = store_state_decode(data, size, &st, &e);
    FUZZ_CHECK(rc == 0 || rc == ERR_CORRUPT || rc == ERR_NOMEM);
    if (rc) {
        FUZZ_CHECK(memcmp(&st, &zero, sizeof(st)) == 0);
        return 0;
    }
    FUZZ_CHECK(st.ss_cursor.cu_kind <= STORE_CURSOR_TIMESTAMP_MS);
    FUZZ_CHECK(st.ss_cursor.cu_kind != STORE_CURSOR_TIMESTAMP_MS ||
               st.ss_cursor.cu_timestamp_ms >= 0);
    FUZZ_CHECK(st.ss_last_run.sr_route < STORE_ROUTE_COUNT);
    FUZZ_CHECK(st.ss_ndone <= STORE_DONE_RANGES_MAX);
    for (uint32_t i = 0; i < st.ss_ndone; i++) {
        FUZZ_CHECK(st.ss_done[i].ir_first <= st.ss_done[i].ir_last);
        FUZZ_CHECK(i == 0 || st.ss_done[i].ir_first > st.ss_done[i - 1].ir_last);
    }
    void *buf = NULL;
    size_t len = 0;
    FUZZ_CHECK(store_state_encode(&st, &buf, &len, &e) == 0);
    FUZZ_CHECK(store_state_decode(buf, len, &again, &e) == 0);
    check_same(&st, &again);
    free(buf);
    return 0;
}
