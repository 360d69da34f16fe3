/*
 * fuzz_schema — store_schema_decode, the reader of a table's schema record
 * (ping_type, supports_roll_up, the rollup field labels, the parent type;
 * common/store/store.h). Checks, besides the sanitizers: a decoded schema has a
 * known ping type and its labels sorted bytewise, distinct and without a
 * NUL; the encoder accepts it, and encoding and decoding it again gives the
 * same schema.
 */
#include "../../common/store/store.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    store_schema sc, again;
    err_info e;
    store_schema_init(&sc);
    store_schema_init(&again);
    /* Decode frees what the schema held: give it something to free. */
    FUZZ_CHECK(store_schema_add_label(&sc, "old", 3) == 0);
    int rc = store_schema_decode(data, size, &sc, &e);
    FUZZ_CHECK(rc == 0 || rc == ERR_CORRUPT || rc == ERR_NOMEM);
    if (rc == 0) {
        FUZZ_CHECK(sc.sc_ping_type == STORE_PING_FULL || sc.sc_ping_type == STORE_PING_INCREMENTAL);
        FUZZ_CHECK(memchr(sc.sc_rollup_fields_object_id, '\0', STORE_NAME_MAX) != NULL);
        for (size_t i = 1; i < sc.sc_nrollup_field_labels; i++)
            FUZZ_CHECK(strcmp(sc.sc_rollup_field_labels[i - 1], sc.sc_rollup_field_labels[i]) < 0);
        void *buf = NULL;
        size_t len = 0;
        FUZZ_CHECK(store_schema_encode(&sc, &buf, &len, &e) == 0);
        FUZZ_CHECK(store_schema_decode(buf, len, &again, &e) == 0);
        FUZZ_CHECK(again.sc_ping_type == sc.sc_ping_type);
        FUZZ_CHECK(again.sc_supports_roll_up == sc.sc_supports_roll_up);
        FUZZ_CHECK(strcmp(again.sc_rollup_fields_object_id, sc.sc_rollup_fields_object_id) == 0);
        FUZZ_CHECK(again.sc_nrollup_field_labels == sc.sc_nrollup_field_labels);
        for (size_t i = 0; i < sc.sc_nrollup_field_labels; i++)
            FUZZ_CHECK(strcmp(again.sc_rollup_field_labels[i], sc.sc_rollup_field_labels[i]) == 0);
        free(buf);
    }
    store_schema_free(&again);
    store_schema_free(&sc);
    return 0;
}
