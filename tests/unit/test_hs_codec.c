/*
 * Tests of common/hubspot/hs_codec: every response shape HubSpot sends (docs/SIMULATOR.md)
 * (the documented examples verbatim), 200 and 207 batch reads, cursors kept
 * byte-for-byte, IDs above 2^53, null and Unicode labels, canonical form,
 * every truncation of valid bodies, wrong types in every field; the request
 * builders compared as strings and parsed back with json-c; round trips
 * through the in-process simulator (sim_api) checked against its truth; and
 * the streaming association scanner checked against an independent json-c
 * walker (the oracle) on fixed, random and randomly damaged bodies.
 *
 * Bodies are handed to the parsers in exact-size heap copies with no NUL
 * after them, so ASan catches a parser reading past `len`.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../../common/hubspot/hs_codec.h"
#include "../../sim/sim_api.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

/* ------------------------------------------------------------- harness */

/* The smallest valid associationTypes entry (dumped " 9:W:~"). */
#define AT "{\"category\":\"WORK\",\"typeId\":9}"

/* An exact-size copy of s (no terminating NUL); free() it. */
static char *exact_copy(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    if (p && n)
        memcpy(p, s, n);
    return p;
}

static int parse_batch_n(const char *body, size_t n, int status, assoc_buf *b,
                         hs_assoc_errors *errs, err_info *e)
{
    char *copy = exact_copy(body, n);
    if (!copy)
        return ERR_NOMEM;
    int rc = hs_parse_assoc_batch(copy, n, status, b, errs, e);
    free(copy);
    return rc;
}

static int parse_batch(const char *body, int status, assoc_buf *b, hs_assoc_errors *errs,
                       err_info *e)
{
    return parse_batch_n(body, strlen(body), status, b, errs, e);
}

static char cat_letter(uint8_t c)
{
    return "HUIW?"[c < ASSOC_CATEGORY_COUNT ? c : ASSOC_CATEGORY_COUNT];
}

/* One line per link, "parent>child type:CAT:label …" (label "~" for null),
 * plus "parent after=CURSOR" for a paged parent and "parent (empty)" for a
 * parent without links. */
static void dump(const assoc_buf *b, jbuf *out)
{
    for (size_t i = 0; i < b->ab_nparents; i++) {
        const assoc_parent *p = &b->ab_parents[i];
        if (p->ap_has_more)
            jb_printf(out, "%" PRIu64 " after=%s\n", p->ap_parent_id, assoc_after(b, p));
        if (p->ap_nlinks == 0)
            jb_printf(out, "%" PRIu64 " (empty)\n", p->ap_parent_id);
        const assoc_link *links = assoc_links(b, p);
        for (uint32_t j = 0; j < p->ap_nlinks; j++) {
            jb_printf(out, "%" PRIu64 ">%" PRIu64, p->ap_parent_id, links[j].al_child_id);
            const assoc_type *t = assoc_types(b, &links[j]);
            for (uint32_t k = 0; k < links[j].al_ntypes; k++) {
                jb_printf(out, " %" PRId32 ":%c:", t[k].at_type_id, cat_letter(t[k].at_category));
                if (t[k].at_has_label)
                    jb_raw(out, assoc_label(b, &t[k]), t[k].at_label_len);
                else
                    jb_char(out, '~');
            }
            jb_char(out, '\n');
        }
    }
}

/* dump() as a static string, for comparisons. */
static const char *dumped(const assoc_buf *b)
{
    static char text[8192];
    jbuf j;
    jb_init(&j);
    dump(b, &j);
    snprintf(text, sizeof(text), "%s", jb_cstr(&j));
    jb_free(&j);
    return text;
}

static bool msg_has(const err_info *e, const char *part)
{
    return CHECKF(strstr(e->ei_msg, part) != NULL, "message \"%s\" does not contain \"%s\"",
                  e->ei_msg, part);
}

/* ---------------------------------------------- documented examples, §2 */

/* §2.1 official 200 example, verbatim apart from the whitespace the doc adds. */
static const char doc_batch_200[] =
    "{\"status\":\"COMPLETE\",\n"
    " \"results\":[\n"
    "  {\"from\":{\"id\":\"33451\"},\n"
    "   \"to\":[{\"toObjectId\":5790939450,\"associationTypes\":[{\"category\":\"HUBSPOT_"
    "DEFINED\",\"typeId\":1,\"label\":\"Primary\"},\n"
    "     {\"category\":\"HUBSPOT_DEFINED\",\"typeId\":279,\"label\":null},{\"category\":\"USER_"
    "DEFINED\",\"typeId\":28,\"label\":\"Billing contact\"}]}]},\n"
    "  {\"from\":{\"id\":\"29851\"},\n"
    "   \"to\":[{\"toObjectId\":5790939450,\"associationTypes\":[{\"category\":\"HUBSPOT_"
    "DEFINED\",\"typeId\":1,\"label\":\"Primary\"},\n"
    "     {\"category\":\"USER_DEFINED\",\"typeId\":37,\"label\":\"Chef\"},{\"category\":"
    "\"HUBSPOT_DEFINED\",\"typeId\":279,\"label\":null}]},\n"
    "    {\"toObjectId\":6675245424,\"associationTypes\":[{\"category\":\"HUBSPOT_DEFINED\","
    "\"typeId\":279,\"label\":null}]},\n"
    "    {\"toObjectId\":17705714757,\"associationTypes\":[{\"category\":\"HUBSPOT_DEFINED\","
    "\"typeId\":279,\"label\":null},\n"
    "     {\"category\":\"USER_DEFINED\",\"typeId\":30,\"label\":\"Decision maker\"}]}]}],\n"
    " \"startedAt\":\"2024-10-21T20:22:42.152Z\",\"completedAt\":\"2024-10-21T20:22:42.167Z\"}";

static const char doc_batch_200_dump[] =
    "33451>5790939450 1:H:Primary 28:U:Billing contact 279:H:~\n"
    "29851>5790939450 1:H:Primary 37:U:Chef 279:H:~\n"
    "29851>6675245424 279:H:~\n"
    "29851>17705714757 30:U:Decision maker 279:H:~\n";

/* §2.2 207 example. */
static const char doc_batch_207[] =
    "{\"status\":\"COMPLETE\",\"results\":[],\n"
    " \"errors\":[{\"status\":\"error\",\"category\":\"OBJECT_NOT_FOUND\",\"subCategory\":"
    "\"crm.associations.NO_ASSOCIATIONS_FOUND\",\n"
    "   \"message\":\"No company is associated with deal 515690208449.\",\n"
    "   \"context\":{\"fromObjectId\":[\"515690208449\"],\"fromObjectType\":[\"deal\"],"
    "\"toObjectType\":[\"company\"]}}],\n"
    " \"numErrors\":1}";

/* §2.3 single-record read example. */
static const char doc_assoc_get[] =
    "{\"results\":[\n"
    "  {\"toObjectId\":5790939450,\"associationTypes\":[{\"category\":\"HUBSPOT_DEFINED\","
    "\"typeId\":279,\"label\":null}]},\n"
    "  {\"toObjectId\":17705714757,\"associationTypes\":[{\"category\":\"HUBSPOT_DEFINED\","
    "\"typeId\":279,\"label\":null},\n"
    "    {\"category\":\"USER_DEFINED\",\"typeId\":30,\"label\":\"Decision maker\"}]}]}";

static void test_batch_doc_200(void)
{
    assoc_buf b;
    hs_assoc_errors errs;
    assoc_buf_init(&b);
    hs_assoc_errors_init(&errs);
    err_info e = {0, ""};
    REQUIRE_EQ(parse_batch(doc_batch_200, 200, &b, &errs, &e), 0);
    CHECK_STR(dumped(&b), doc_batch_200_dump);
    CHECK_EQ(b.ab_nparents, 2);
    CHECK_EQ(errs.ae_nempty, 0);
    CHECK_EQ(errs.ae_nfailures, 0);
    CHECK_EQ(errs.ae_num_errors, 0);
    /* The same body answered as a 207 is accepted too. */
    assoc_buf_reset(&b);
    REQUIRE_EQ(parse_batch(doc_batch_200, 207, &b, &errs, &e), 0);
    CHECK_STR(dumped(&b), doc_batch_200_dump);
done:
    assoc_buf_free(&b);
    hs_assoc_errors_free(&errs);
}

static void test_batch_doc_207(void)
{
    assoc_buf b;
    hs_assoc_errors errs;
    assoc_buf_init(&b);
    hs_assoc_errors_init(&errs);
    err_info e = {0, ""};
    REQUIRE_EQ(parse_batch(doc_batch_207, 207, &b, &errs, &e), 0);
    CHECK_EQ(b.ab_nparents, 0);
    REQUIRE_EQ(errs.ae_nempty, 1);
    CHECK_EQ(errs.ae_empty_ids[0], 515690208449ULL);
    CHECK_EQ(errs.ae_nfailures, 0);
    CHECK_EQ(errs.ae_num_errors, 1);
    /* A second response appends; reset empties. */
    REQUIRE_EQ(parse_batch(doc_batch_207, 207, &b, &errs, &e), 0);
    CHECK_EQ(errs.ae_nempty, 2);
    CHECK_EQ(errs.ae_num_errors, 2);
    hs_assoc_errors_reset(&errs);
    CHECK_EQ(errs.ae_nempty, 0);
    CHECK_EQ(errs.ae_num_errors, 0);
done:
    assoc_buf_free(&b);
    hs_assoc_errors_free(&errs);
}

/* A 207 mixing results, NO_ASSOCIATIONS_FOUND in its three forms (context,
 * message only, several ids) and failures of other kinds. */
static void test_batch_207_mixed(void)
{
    static const char body[] =
        "{\"status\":\"COMPLETE\",\"results\":[{\"from\":{\"id\":\"7\"},\"to\":[{\"toObjectId\":"
        "8,\"associationTypes\":[{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":279,\"label\":"
        "null}]}]}],\"numErrors\":6,\"errors\":["
        /* 0: NO_ASSOCIATIONS_FOUND with context */
        "{\"status\":\"error\",\"category\":\"OBJECT_NOT_FOUND\",\"subCategory\":"
        "\"crm.associations.NO_ASSOCIATIONS_FOUND\",\"message\":\"No company is associated "
        "with contact 11.\",\"context\":{\"fromObjectId\":[\"11\"]}},"
        /* 1: no context: the id comes from the message */
        "{\"status\":\"error\",\"category\":\"OBJECT_NOT_FOUND\",\"subCategory\":"
        "\"crm.associations.NO_ASSOCIATIONS_FOUND\",\"message\":\"No company is associated "
        "with contact 18014398509481985.\"}"
        ","
        /* 2: two ids in one entry */
        "{\"category\":\"OBJECT_NOT_FOUND\",\"subCategory\":"
        "\"crm.associations.NO_ASSOCIATIONS_FOUND\",\"message\":\"x\",\"context\":"
        "{\"fromObjectId\":[\"12\",\"13\"]}},"
        /* 3: another kind of error: a failure, with its from id */
        "{\"status\":\"error\",\"category\":\"VALIDATION_ERROR\",\"subCategory\":"
        "\"crm.associations.INVALID_OBJECT_ID\",\"message\":\"Invalid id 14\",\"context\":"
        "{\"fromObjectId\":[\"14\"]}},"
        /* 4: NO_ASSOCIATIONS_FOUND naming no id: a failure the caller sees */
        "{\"category\":\"OBJECT_NOT_FOUND\",\"subCategory\":"
        "\"crm.associations.NO_ASSOCIATIONS_FOUND\",\"message\":\"Nothing here.\"},"
        /* 5: an internal error without anything */
        "{\"status\":\"error\",\"category\":\"INTERNAL_ERROR\",\"message\":\"Something "
        "went wrong\"}"
        "]}";
    assoc_buf b;
    hs_assoc_errors errs;
    assoc_buf_init(&b);
    hs_assoc_errors_init(&errs);
    err_info e = {0, ""};
    REQUIRE_EQ(parse_batch(body, 207, &b, &errs, &e), 0);
    CHECK_STR(dumped(&b), "7>8 279:H:~\n");
    CHECK_EQ(errs.ae_num_errors, 6);
    REQUIRE_EQ(errs.ae_nempty, 4);
    CHECK_EQ(errs.ae_empty_ids[0], 11);
    CHECK_EQ(errs.ae_empty_ids[1], 18014398509481985ULL);
    CHECK_EQ(errs.ae_empty_ids[2], 12);
    CHECK_EQ(errs.ae_empty_ids[3], 13);
    REQUIRE_EQ(errs.ae_nfailures, 3);
    const hs_assoc_failure *f = errs.ae_failures;
    CHECK(f[0].af_has_from_id);
    CHECK_EQ(f[0].af_from_id, 14);
    CHECK_STR(f[0].af_category, "VALIDATION_ERROR");
    CHECK_STR(f[0].af_sub_category, "crm.associations.INVALID_OBJECT_ID");
    CHECK_STR(f[0].af_message, "Invalid id 14");
    CHECK(!f[1].af_has_from_id);
    CHECK_STR(f[1].af_sub_category, "crm.associations.NO_ASSOCIATIONS_FOUND");
    CHECK_STR(f[1].af_message, "Nothing here.");
    CHECK(!f[2].af_has_from_id);
    CHECK_STR(f[2].af_category, "INTERNAL_ERROR");
    CHECK_STR(f[2].af_sub_category, "");
done:
    assoc_buf_free(&b);
    hs_assoc_errors_free(&errs);
}

/* ---------------------------------------------- paging, IDs and labels */

static void test_batch_paging_cursors(void)
{
    static const char body[] =
        "{\"status\":\"COMPLETE\",\"results\":["
        "{\"from\":{\"id\":\"1001\"},\"to\":[{\"toObjectId\":1,\"associationTypes\":[" AT "]}],"
        "\"paging\":{\"next\":{\"after\":\"MC0yLTE1OTc0MDA2NTg%3D\",\"link\":"
        "\"https://api.hubapi.com/crm/v3/objects/0-2/6465999056/associations/"
        "0-1?portalId=26190935&after=MC0yLTc1MDI%3D\"}}},"
        "{\"from\":{\"id\":\"1002\"},\"to\":[],\"paging\":{\"prev\":{\"before\":\"xyz\"}}},"
        "{\"from\":{\"id\":\"1003\"},\"to\":[],\"paging\":null},"
        "{\"from\":{\"id\":\"1004\"},\"to\":[],\"paging\":{\"next\":{\"after\":"
        "\"MTAtNi0xODQ3MjAxMzg5%3D\"},\"prev\":{\"before\":\"a\"}}},"
        /* JSON escapes in a cursor decode to the bytes HubSpot meant. */
        "{\"from\":{\"id\":\"1005\"},\"to\":[],\"paging\":{\"next\":{\"after\":"
        "\"a\\u002Fb\\\"c%3D%253D\"}}}"
        "],\"startedAt\":\"2024-10-21T20:22:42.152Z\",\"completedAt\":\"2024-10-21T20:22:42."
        "167Z\"}";
    assoc_buf b;
    hs_assoc_errors errs;
    jbuf req;
    assoc_buf_init(&b);
    hs_assoc_errors_init(&errs);
    jb_init(&req);
    json_object *back = NULL;
    err_info e = {0, ""};
    REQUIRE_EQ(parse_batch(body, 200, &b, &errs, &e), 0);
    CHECK_STR(dumped(&b), "1001 after=MC0yLTE1OTc0MDA2NTg%3D\n"
                          "1001>1 9:W:~\n"
                          "1002 (empty)\n"
                          "1003 (empty)\n"
                          "1004 after=MTAtNi0xODQ3MjAxMzg5%3D\n"
                          "1004 (empty)\n"
                          "1005 after=a/b\"c%3D%253D\n"
                          "1005 (empty)\n");
    CHECK_EQ(b.ab_parents[0].ap_after_len, strlen("MC0yLTE1OTc0MDA2NTg%3D"));
    /* The next request sends the cursors back unchanged. */
    size_t n = 0;
    REQUIRE_EQ(hs_build_assoc_next_pages(&req, &b, &n, &e), 0);
    CHECK_EQ(n, 3);
    CHECK_STR(jb_cstr(&req), "{\"inputs\":[{\"id\":\"1001\",\"after\":\"MC0yLTE1OTc0MDA2NTg%3D\"},"
                             "{\"id\":\"1004\",\"after\":\"MTAtNi0xODQ3MjAxMzg5%3D\"},"
                             "{\"id\":\"1005\",\"after\":\"a/b\\\"c%3D%253D\"}]}");
    back = json_tokener_parse(jb_cstr(&req));
    REQUIRE(back != NULL);
    json_object *in = json_object_array_get_idx(json_object_object_get(back, "inputs"), 2);
    CHECK_STR(json_object_get_string(json_object_object_get(in, "after")), "a/b\"c%3D%253D");
    /* No paged parent: nothing written. */
    assoc_buf_reset(&b);
    jb_reset(&req);
    REQUIRE_EQ(parse_batch(doc_batch_200, 200, &b, &errs, &e), 0);
    CHECK_EQ(hs_build_assoc_next_pages(&req, &b, &n, &e), 0);
    CHECK_EQ(n, 0);
    CHECK_EQ(req.jb_len, 0);
done:
    json_object_put(back);
    jb_free(&req);
    assoc_buf_free(&b);
    hs_assoc_errors_free(&errs);
}

static void test_batch_big_ids(void)
{
    static const char body[] =
        "{\"status\":\"COMPLETE\",\"results\":[{\"from\":{\"id\":\"18446744073709551615\"},"
        "\"to\":["
        "{\"toObjectId\":18014398509481985,\"associationTypes\":[" AT "]},"
        "{\"toObjectId\":9223372036854775807,\"associationTypes\":[" AT "]},"
        "{\"toObjectId\":9223372036854775808,\"associationTypes\":[" AT "]},"
        "{\"toObjectId\":18446744073709551614,\"associationTypes\":[" AT "]},"
        "{\"toObjectId\":\"9007199254740993\",\"associationTypes\":[" AT "]},"
        "{\"toObjectId\":9007199254740993,\"associationTypes\":[" AT "]},"
        "{\"toObjectId\":0,\"associationTypes\":[" AT "]}"
        "]},{\"from\":{\"id\":\"9223372036854775807\"},\"to\":[]}]}";
    assoc_buf b;
    hs_assoc_errors errs;
    assoc_buf_init(&b);
    hs_assoc_errors_init(&errs);
    err_info e = {0, ""};
    REQUIRE_EQ(parse_batch(body, 200, &b, &errs, &e), 0);
    /* Sorted by child ID, the duplicate 2^53+1 merged. */
    CHECK_STR(dumped(&b), "18446744073709551615>0 9:W:~\n"
                          "18446744073709551615>9007199254740993 9:W:~\n"
                          "18446744073709551615>18014398509481985 9:W:~\n"
                          "18446744073709551615>9223372036854775807 9:W:~\n"
                          "18446744073709551615>9223372036854775808 9:W:~\n"
                          "18446744073709551615>18446744073709551614 9:W:~\n"
                          "9223372036854775807 (empty)\n");
    /* Numbers json-c can only clamp are refused, not rounded. */
    static const char *const bad[] = {
        "{\"results\":[{\"from\":{\"id\":\"1\"},\"to\":[{\"toObjectId\":18446744073709551615,"
        "\"associationTypes\":[" AT "]}]}]}",
        "{\"results\":[{\"from\":{\"id\":\"1\"},\"to\":[{\"toObjectId\":99999999999999999999,"
        "\"associationTypes\":[" AT "]}]}]}",
        "{\"results\":[{\"from\":{\"id\":\"1\"},\"to\":[{\"toObjectId\":-99999999999999999999,"
        "\"associationTypes\":[" AT "]}]}]}",
        "{\"results\":[{\"from\":{\"id\":\"1\"},\"to\":[{\"toObjectId\":\"18446744073709551616\","
        "\"associationTypes\":[" AT "]}]}]}",
        "{\"results\":[{\"from\":{\"id\":\"18446744073709551616\"},\"to\":[]}]}",
        "{\"results\":[{\"from\":{\"id\":\"99999999999999999999\"},\"to\":[]}]}",
    };
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        assoc_buf_reset(&b);
        int rc = parse_batch(bad[i], 200, &b, &errs, &e);
        CHECKF(rc == ERR_SHAPE, "bad[%zu]: rc %d (%s)", i, rc, e.ei_msg);
        CHECK_EQ(b.ab_nparents, 0);
    }
done:
    assoc_buf_free(&b);
    hs_assoc_errors_free(&errs);
}

static void test_batch_labels(void)
{
    static const char body[] =
        "{\"status\":\"COMPLETE\",\"results\":[{\"from\":{\"id\":\"1\"},\"to\":["
        "{\"toObjectId\":2,\"associationTypes\":["
        "{\"category\":\"USER_DEFINED\",\"typeId\":40,\"label\":\"Entscheider \\u00e4\"},"
        "{\"category\":\"USER_DEFINED\",\"typeId\":41,\"label\":\"Entscheider \xc3\xa4\"},"
        "{\"category\":\"USER_DEFINED\",\"typeId\":42,\"label\":\"\\ud83d\\ude00 \\\"q\\\" "
        "\\\\ \\/\"},"
        "{\"category\":\"USER_DEFINED\",\"typeId\":43,\"label\":\"\"},"
        "{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":279,\"label\":null},"
        "{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":1},"
        "{\"category\":\"INTEGRATOR_DEFINED\",\"typeId\":-5,\"label\":\"neg\"},"
        "{\"category\":\"WORK\",\"typeId\":2147483647,\"label\":\"max\"}"
        "]}]}]}";
    assoc_buf b;
    hs_assoc_errors errs;
    assoc_buf_init(&b);
    hs_assoc_errors_init(&errs);
    err_info e = {0, ""};
    REQUIRE_EQ(parse_batch(body, 200, &b, &errs, &e), 0);
    CHECK_STR(dumped(&b), "1>2 -5:I:neg 1:H:~ 40:U:Entscheider \xc3\xa4 41:U:Entscheider "
                          "\xc3\xa4 42:U:\xf0\x9f\x98\x80 \"q\" \\ / 43:U: 279:H:~ "
                          "2147483647:W:max\n");
    const assoc_link *l = assoc_links(&b, &b.ab_parents[0]);
    const assoc_type *t = assoc_types(&b, l);
    REQUIRE_EQ(l->al_ntypes, 8);
    CHECK(!t[1].at_has_label);
    CHECK(t[5].at_has_label);
    CHECK_EQ(t[5].at_label_len, 0);
    CHECK(!t[6].at_has_label);
    CHECK_EQ(t[2].at_label_len, strlen("Entscheider \xc3\xa4"));
    /* U+1DA00 and U+2A6D6 (a CJK ideograph) decoded right: json-c 0.16 gives
     * U+FFFD for pairs whose low 16 bits look like a surrogate. */
    static const char pairs[] =
        "{\"results\":[{\"from\":{\"id\":\"1\"},\"to\":[{\"toObjectId\":2,"
        "\"associationTypes\":[{\"category\":\"USER_DEFINED\",\"typeId\":1,\"label\":"
        "\"\\ud836\\ude00 \\ud869\\uded6\"}]}]}]}";
    assoc_buf_reset(&b);
    REQUIRE_EQ(parse_batch(pairs, 200, &b, &errs, &e), 0);
    CHECK_STR(dumped(&b), "1>2 1:U:\xf0\x9d\xa8\x80 \xf0\xaa\x9b\x96\n");
done:
    assoc_buf_free(&b);
    hs_assoc_errors_free(&errs);
}

/* Members in any order, escaped names, whitespace everywhere, unknown
 * members of every kind: the same parent. */
static void test_batch_member_order(void)
{
    static const char *const bodies[] = {
        "{\"results\":[{\"from\":{\"id\":\"9\"},\"to\":[{\"toObjectId\":3,"
        "\"associationTypes\":[{\"category\":\"WORK\",\"typeId\":5,\"label\":\"x\"}]}],"
        "\"paging\":{\"next\":{\"after\":\"Q%3D\"}}}]}",
        "{\"results\":[{\"paging\":{\"prev\":{\"before\":1},\"next\":{\"link\":\"l\",\"after\":"
        "\"Q%3D\"}},\"to\":[{\"associationTypes\":[{\"label\":\"x\",\"typeId\":5,\"category\":"
        "\"WORK\"}],\"toObjectId\":3}],\"from\":{\"x\":[1,{\"y\":null}],\"id\":\"9\"}}],"
        "\"status\":\"COMPLETE\"}",
        " \n{ \"r\\u0065sults\" :\t[ { \"from\" : { \"id\" : \"\\u0039\" } , \"\\u0074o\" : [ { "
        "\"toObjectId\" : \"3\" , \"associationTypes\" : [ { \"category\" : \"\\u0057ORK\" , "
        "\"typeId\" : 5 , \"label\" : \"\\u0078\" , \"extra\" : [ true , false , null , -1.5e-3 , "
        "{ } , [ ] ] } ] } ] , \"paging\" : { \"next\" : { \"after\" : \"Q%3D\" } } } ] , "
        "\"numErrors\" : 0 , \"errors\" : [ ] } \r\n",
    };
    assoc_buf b;
    hs_assoc_errors errs;
    assoc_buf_init(&b);
    hs_assoc_errors_init(&errs);
    for (size_t i = 0; i < UT_COUNT(bodies); i++) {
        err_info e = {0, ""};
        assoc_buf_reset(&b);
        int rc = parse_batch(bodies[i], 200, &b, &errs, &e);
        CHECKF(rc == 0, "body %zu: rc %d %s", i, rc, e.ei_msg);
        CHECK_STR(dumped(&b), "9 after=Q%3D\n9>3 5:W:x\n");
    }
    assoc_buf_free(&b);
    hs_assoc_errors_free(&errs);
}

/* Duplicated links and types across a response are merged by
 * assoc_buf_finish_parent; the same from-id twice gives two parents. */
static void test_batch_duplicates_normalised(void)
{
    static const char body[] =
        "{\"status\":\"COMPLETE\",\"results\":[{\"from\":{\"id\":\"5\"},\"to\":["
        "{\"toObjectId\":30,\"associationTypes\":[{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":"
        "279,\"label\":null},{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":279,\"label\":null}]},"
        "{\"toObjectId\":10,\"associationTypes\":[{\"category\":\"USER_DEFINED\",\"typeId\":30,"
        "\"label\":\"Decision maker\"}]},"
        "{\"toObjectId\":30,\"associationTypes\":[{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":1,"
        "\"label\":\"Primary\"},{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":279,\"label\":null}]},"
        "{\"toObjectId\":10,\"associationTypes\":[{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":"
        "279,\"label\":null}]},"
        "{\"toObjectId\":20,\"associationTypes\":[{\"category\":\"USER_DEFINED\",\"typeId\":"
        "279,\"label\":\"same id, other category\"}]}"
        "]},{\"from\":{\"id\":\"5\"},\"to\":[{\"toObjectId\":40,\"associationTypes\":[" AT "]}]}]}";
    assoc_buf b;
    hs_assoc_errors errs;
    assoc_buf_init(&b);
    hs_assoc_errors_init(&errs);
    err_info e = {0, ""};
    REQUIRE_EQ(parse_batch(body, 200, &b, &errs, &e), 0);
    CHECK_STR(dumped(&b), "5>10 30:U:Decision maker 279:H:~\n"
                          "5>20 279:U:same id, other category\n"
                          "5>30 1:H:Primary 279:H:~\n"
                          "5>40 9:W:~\n");
    CHECK_EQ(b.ab_nparents, 2);
done:
    assoc_buf_free(&b);
    hs_assoc_errors_free(&errs);
}

/* A failed parse leaves what earlier responses put in the buffers intact. */
static void test_batch_failure_rewinds(void)
{
    assoc_buf b;
    hs_assoc_errors errs;
    assoc_buf_init(&b);
    hs_assoc_errors_init(&errs);
    err_info e = {0, ""};
    char before[8192];
    REQUIRE_EQ(parse_batch(doc_batch_200, 200, &b, &errs, &e), 0);
    REQUIRE_EQ(parse_batch(doc_batch_207, 207, &b, &errs, &e), 0);
    snprintf(before, sizeof(before), "%s", dumped(&b));
    size_t nstrings = b.ab_strings.jb_len;
    /* Fails in the third result, after two parents, labels and a cursor. */
    static const char bad[] =
        "{\"status\":\"COMPLETE\",\"results\":["
        "{\"from\":{\"id\":\"1\"},\"to\":[{\"toObjectId\":2,\"associationTypes\":[{\"category\":"
        "\"USER_DEFINED\",\"typeId\":9,\"label\":\"a long label that lands in the arena\"}]}],"
        "\"paging\":{\"next\":{\"after\":\"QUJD%3D\"}}},"
        "{\"from\":{\"id\":\"3\"},\"to\":[]},"
        "{\"from\":{\"id\":\"4\"},\"to\":[{\"toObjectId\":true,\"associationTypes\":[" AT "]}]}],"
        "\"numErrors\":1,\"errors\":[{\"subCategory\":\"crm.associations.NO_ASSOCIATIONS_FOUND\","
        "\"context\":{\"fromObjectId\":[\"77\"]}}]}";
    CHECK_EQ(parse_batch(bad, 207, &b, &errs, &e), ERR_SHAPE);
    CHECK_STR(e.ei_msg, "assoc batch read: results[2].to[0].toObjectId is not a number");
    CHECK_STR(dumped(&b), before);
    CHECK_EQ(b.ab_strings.jb_len, nstrings);
    CHECK_EQ(errs.ae_nempty, 1);
    CHECK_EQ(errs.ae_num_errors, 1);
    /* An error entry failing after results parsed also rewinds both. */
    static const char bad_err[] =
        "{\"results\":[{\"from\":{\"id\":\"1\"},\"to\":[]}],\"numErrors\":2,\"errors\":["
        "{\"subCategory\":\"crm.associations.NO_ASSOCIATIONS_FOUND\",\"message\":\"No company is "
        "associated with deal 9.\"},5]}";
    CHECK_EQ(parse_batch(bad_err, 207, &b, &errs, &e), ERR_SHAPE);
    CHECK_STR(e.ei_msg, "assoc batch read: errors[1] is not an object");
    CHECK_STR(dumped(&b), before);
    CHECK_EQ(errs.ae_nempty, 1);
    CHECK_EQ(errs.ae_num_errors, 1);
done:
    assoc_buf_free(&b);
    hs_assoc_errors_free(&errs);
}

static void test_batch_http_status(void)
{
    assoc_buf b;
    hs_assoc_errors errs;
    assoc_buf_init(&b);
    hs_assoc_errors_init(&errs);
    err_info e = {0, ""};
    static const int bad[] = {0, 201, 204, 400, 401, 404, 429, 500, 502};
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        CHECK_EQ(parse_batch(doc_batch_200, bad[i], &b, &errs, &e), ERR_INVALID);
        msg_has(&e, "hs_parse_error");
    }
    CHECK_EQ(hs_parse_assoc_batch(NULL, 5, 200, &b, &errs, &e), ERR_INVALID);
    CHECK_EQ(hs_parse_assoc_batch("{}", 2, 200, NULL, &errs, &e), ERR_INVALID);
    CHECK_EQ(hs_parse_assoc_batch("{}", 2, 200, &b, NULL, &e), ERR_INVALID);
    CHECK_EQ(b.ab_nparents, 0);
    assoc_buf_free(&b);
    hs_assoc_errors_free(&errs);
}

/* Wrong types in every field the parser reads: a clear ERR_SHAPE naming it. */
static void test_batch_wrong_types(void)
{
#define R(inner)  "{\"status\":\"COMPLETE\",\"results\":[" inner "]}"
#define TO(inner) R("{\"from\":{\"id\":\"1\"},\"to\":[" inner "]}")
#define TY(inner) TO("{\"toObjectId\":2,\"associationTypes\":[" inner "]}")
#define PG(inner) R("{\"from\":{\"id\":\"1\"},\"to\":[],\"paging\":" inner "}")
    static const struct {
        const char *body;
        int code;
        const char *msg;
    } cases[] = {
        {"[]", ERR_SHAPE, "the body is not a JSON object"},
        {"\"results\"", ERR_SHAPE, "the body is not a JSON object"},
        {"{}", ERR_SHAPE, "results is missing"},
        {"{\"results\":null}", ERR_SHAPE, "results is not an array"},
        {"{\"results\":{}}", ERR_SHAPE, "results is not an array"},
        {"{\"status\":1,\"results\":[]}", ERR_SHAPE, "status is not a string"},
        {"{\"results\":[],\"numErrors\":\"1\"}", ERR_SHAPE, "numErrors is not"},
        {"{\"results\":[],\"numErrors\":-1}", ERR_SHAPE, "numErrors is not"},
        {"{\"results\":[],\"numErrors\":1.5}", ERR_SHAPE, "numErrors is not"},
        {"{\"results\":[],\"errors\":{}}", ERR_SHAPE, "errors is not an array"},
        {"{\"results\":[],\"errors\":[\"x\"]}", ERR_SHAPE, "errors[0] is not an object"},
        {"{\"results\":[],\"errors\":[{\"message\":5}]}", ERR_SHAPE,
         "errors[0].message is not a string"},
        {"{\"results\":[],\"errors\":[{\"category\":[]}]}", ERR_SHAPE,
         "errors[0].category is not a string"},
        {"{\"results\":[],\"errors\":[{\"subCategory\":true}]}", ERR_SHAPE,
         "errors[0].subCategory is not a string"},
        {"{\"results\":[],\"errors\":[{\"status\":{}}]}", ERR_SHAPE,
         "errors[0].status is not a string"},
        {"{\"results\":[],\"errors\":[{\"context\":[]}]}", ERR_SHAPE,
         "errors[0].context is not an object"},
        {"{\"results\":[],\"errors\":[{\"context\":{\"fromObjectId\":\"1\"}}]}", ERR_SHAPE,
         "errors[0].context.fromObjectId is not an array"},
        {R("1"), ERR_SHAPE, "results[0] is not an object"},
        {R("{\"to\":[]}"), ERR_SHAPE, "results[0].from is missing"},
        {R("{\"from\":\"1\",\"to\":[]}"), ERR_SHAPE, "results[0].from is not an object"},
        {R("{\"from\":null,\"to\":[]}"), ERR_SHAPE, "results[0].from is not an object"},
        {R("{\"from\":{},\"to\":[]}"), ERR_SHAPE, "results[0].from.id is missing"},
        {R("{\"from\":{\"id\":33451},\"to\":[]}"), ERR_SHAPE, "results[0].from.id is not a string"},
        {R("{\"from\":{\"id\":null},\"to\":[]}"), ERR_SHAPE, "results[0].from.id is not a string"},
        {R("{\"from\":{\"id\":\"\"},\"to\":[]}"), ERR_SHAPE, "from.id is not a decimal 64-bit ID"},
        {R("{\"from\":{\"id\":\"12a\"},\"to\":[]}"), ERR_SHAPE, "from.id is not a decimal"},
        {R("{\"from\":{\"id\":\"-1\"},\"to\":[]}"), ERR_SHAPE, "from.id is not a decimal"},
        {R("{\"from\":{\"id\":\"+1\"},\"to\":[]}"), ERR_SHAPE, "from.id is not a decimal"},
        {R("{\"from\":{\"id\":\" 1\"},\"to\":[]}"), ERR_SHAPE, "from.id is not a decimal"},
        {R("{\"from\":{\"id\":\"1.0\"},\"to\":[]}"), ERR_SHAPE, "from.id is not a decimal"},
        {R("{\"from\":{\"id\":\"1\"}}"), ERR_SHAPE, "results[0].to is missing"},
        {R("{\"from\":{\"id\":\"1\"},\"to\":{}}"), ERR_SHAPE, "results[0].to is not an array"},
        {R("{\"from\":{\"id\":\"1\"},\"to\":null}"), ERR_SHAPE, "results[0].to is not an array"},
        {TO("5"), ERR_SHAPE, "results[0].to[0] is not an object"},
        {TO("{\"associationTypes\":[" AT "]}"), ERR_SHAPE,
         "results[0].to[0].toObjectId is missing"},
        {TO("{\"toObjectId\":true,\"associationTypes\":[" AT "]}"), ERR_SHAPE,
         "results[0].to[0].toObjectId is not a number"},
        {TO("{\"toObjectId\":null,\"associationTypes\":[" AT "]}"), ERR_SHAPE,
         "toObjectId is not a number"},
        {TO("{\"toObjectId\":1.5,\"associationTypes\":[" AT "]}"), ERR_SHAPE,
         "toObjectId is not a number"},
        {TO("{\"toObjectId\":1e3,\"associationTypes\":[" AT "]}"), ERR_SHAPE,
         "toObjectId is not a number"},
        {TO("{\"toObjectId\":{},\"associationTypes\":[" AT "]}"), ERR_SHAPE,
         "toObjectId is not a number"},
        {TO("{\"toObjectId\":-5,\"associationTypes\":[" AT "]}"), ERR_SHAPE,
         "toObjectId is not a non-negative 64-bit integer"},
        {TO("{\"toObjectId\":\"abc\",\"associationTypes\":[" AT "]}"), ERR_SHAPE,
         "toObjectId is not a non-negative 64-bit integer"},
        {TO("{\"toObjectId\":\"\",\"associationTypes\":[" AT "]}"), ERR_SHAPE,
         "toObjectId is not a non-negative 64-bit integer"},
        {TO("{\"toObjectId\":2}"), ERR_SHAPE, "results[0].to[0].associationTypes is missing"},
        {TO("{\"toObjectId\":2,\"associationTypes\":[]}"), ERR_SHAPE,
         "results[0].to[0].associationTypes is empty"},
        {TO("{\"toObjectId\":2,\"associationTypes\":null}"), ERR_SHAPE,
         "associationTypes is not an array"},
        {TO("{\"toObjectId\":2,\"associationTypes\":{}}"), ERR_SHAPE,
         "associationTypes is not an array"},
        {TY("7"), ERR_SHAPE, "results[0].to[0].associationTypes[0] is not an object"},
        {TY("{\"typeId\":1}"), ERR_SHAPE, "associationTypes[0].category is missing"},
        {TY("{\"category\":3,\"typeId\":1}"), ERR_SHAPE,
         "associationTypes[0].category is not a string"},
        {TY("{\"category\":null,\"typeId\":1}"), ERR_SHAPE,
         "associationTypes[0].category is not a string"},
        {TY("{\"category\":\"FOO\",\"typeId\":1}"), ERR_SHAPE,
         "associationTypes[0].category \"FOO\" is unknown"},
        {TY("{\"category\":\"hubspot_defined\",\"typeId\":1}"), ERR_SHAPE, "is unknown"},
        {TY("{\"category\":\"WORKS\",\"typeId\":1}"), ERR_SHAPE, "is unknown"},
        {TY("{\"category\":\"HUBSPOT_DEFINED\"}"), ERR_SHAPE,
         "associationTypes[0].typeId is missing"},
        {TY("{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":\"1\"}"), ERR_SHAPE,
         "associationTypes[0].typeId is not an integer"},
        {TY("{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":1.0}"), ERR_SHAPE,
         "typeId is not an integer"},
        {TY("{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":null}"), ERR_SHAPE,
         "typeId is not an integer"},
        {TY("{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":true}"), ERR_SHAPE,
         "typeId is not an integer"},
        {TY("{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":2147483648}"), ERR_SHAPE,
         "typeId is not an int32"},
        {TY("{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":-2147483649}"), ERR_SHAPE,
         "typeId is not an int32"},
        {TY("{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":18446744073709551615}"), ERR_SHAPE,
         "typeId is not an int32"},
        {TY("{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":1,\"label\":5}"), ERR_SHAPE,
         "associationTypes[0].label is neither a string nor null"},
        {TY("{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":1,\"label\":false}"), ERR_SHAPE,
         "label is neither a string nor null"},
        {TY("{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":1,\"label\":[]}"), ERR_SHAPE,
         "label is neither a string nor null"},
        {TY("{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":1,\"label\":{}}"), ERR_SHAPE,
         "label is neither a string nor null"},
        {PG("5"), ERR_SHAPE, "results[0].paging is not an object"},
        {PG("[]"), ERR_SHAPE, "results[0].paging is not an object"},
        {PG("{\"next\":5}"), ERR_SHAPE, "results[0].paging.next is not an object"},
        {PG("{\"next\":{}}"), ERR_SHAPE, "results[0].paging.next.after is missing"},
        {PG("{\"next\":{\"after\":null}}"), ERR_SHAPE,
         "results[0].paging.next.after is not a string"},
        {PG("{\"next\":{\"after\":5}}"), ERR_SHAPE, "paging.next.after is not a string"},
        {PG("{\"next\":{\"after\":\"\"}}"), ERR_SHAPE, "paging.next.after is empty"},
        {PG("{\"next\":{\"after\":\"a\\u0000b\"}}"), ERR_SHAPE, "NUL byte"},
        /* A member the parser reads, given twice. */
        {"{\"results\":[],\"results\":[]}", ERR_SHAPE, "assoc batch read: results appears twice"},
        {"{\"results\":[],\"status\":\"a\",\"status\":\"b\"}", ERR_SHAPE, "status appears twice"},
        {R("{\"from\":{\"id\":\"1\"},\"to\":[],\"to\":[]}"), ERR_SHAPE,
         "results[0].to appears twice"},
        {R("{\"from\":{\"id\":\"1\",\"id\":\"2\"},\"to\":[]}"), ERR_SHAPE,
         "results[0].from.id appears twice"},
        {TO("{\"toObjectId\":2,\"toObjectId\":2,\"associationTypes\":[" AT "]}"), ERR_SHAPE,
         "results[0].to[0].toObjectId appears twice"},
        {TY("{\"category\":\"WORK\",\"typeId\":1,\"label\":null,\"label\":\"x\"}"), ERR_SHAPE,
         "associationTypes[0].label appears twice"},
        {PG("{\"next\":{\"after\":\"a\",\"after\":\"b\"}}"), ERR_SHAPE,
         "results[0].paging.next.after appears twice"},
        /* The message names the right result and link. */
        {R("{\"from\":{\"id\":\"1\"},\"to\":[]},{\"from\":{\"id\":\"1\"},\"to\":[]},"
           "{\"from\":{\"id\":\"1\"},\"to\":[]},{\"from\":{\"id\":\"1\"},\"to\":["
           "{\"toObjectId\":\"x\",\"associationTypes\":[" AT "]}]}"),
         ERR_SHAPE, "assoc batch read: results[3].to[0].toObjectId is not a non-negative"},
        {R("{\"from\":{\"id\":\"1\"},\"to\":[]},{\"from\":{\"id\":\"1\"},\"to\":["
           "{\"toObjectId\":2,\"associationTypes\":[" AT
           "]},{\"toObjectId\":3,\"associationTypes\":["
           "{\"category\":\"WORK\",\"typeId\":1},{\"category\":\"WORK\",\"typeId\":1,"
           "\"label\":7}]}]}"),
         ERR_SHAPE, "assoc batch read: results[1].to[1].associationTypes[1].label is neither"},
    };
#undef R
#undef TO
#undef TY
#undef PG
    assoc_buf b;
    hs_assoc_errors errs;
    assoc_buf_init(&b);
    hs_assoc_errors_init(&errs);
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        err_info e = {0, ""};
        int rc = parse_batch(cases[i].body, 200, &b, &errs, &e);
        bool ok = rc == cases[i].code && strstr(e.ei_msg, cases[i].msg) != NULL &&
                  strncmp(e.ei_msg, "assoc batch read: ", 18) == 0 && e.ei_code == rc &&
                  b.ab_nparents == 0 && b.ab_nlinks == 0 && b.ab_ntypes == 0 &&
                  errs.ae_nempty == 0 && errs.ae_nfailures == 0;
        CHECKF(ok, "case %zu: rc %d, message \"%s\"; want %d, \"%s\"", i, rc, e.ei_msg,
               cases[i].code, cases[i].msg);
    }
    /* A label over assoc_buf's 1 KiB cap, and a cursor over HS_CURSOR_MAX. */
    jbuf big;
    jb_init(&big);
    jb_lit(&big, "{\"results\":[{\"from\":{\"id\":\"1\"},\"to\":[{\"toObjectId\":2,"
                 "\"associationTypes\":[{\"category\":\"USER_DEFINED\",\"typeId\":1,\"label\":\"");
    for (int i = 0; i < 1025; i++)
        jb_char(&big, 'x');
    jb_lit(&big, "\"}]}]}]}");
    err_info e = {0, ""};
    CHECK_EQ(parse_batch(jb_cstr(&big), 200, &b, &errs, &e), ERR_TOO_BIG);
    msg_has(&e, "label longer than 1 KiB");
    jb_reset(&big);
    jb_lit(&big, "{\"results\":[{\"from\":{\"id\":\"1\"},\"to\":[],\"paging\":{\"next\":{"
                 "\"after\":\"");
    for (int i = 0; i < HS_CURSOR_MAX + 1; i++)
        jb_char(&big, 'A');
    jb_lit(&big, "\"}}}]}");
    CHECK_EQ(parse_batch(jb_cstr(&big), 200, &b, &errs, &e), ERR_TOO_BIG);
    msg_has(&e, "results[0].paging.next.after is longer than 1024 bytes");
    CHECK_EQ(b.ab_nparents, 0);
    jb_free(&big);
    assoc_buf_free(&b);
    hs_assoc_errors_free(&errs);
}

/* A raw NUL byte inside a string is malformed: json-c reads it as the end of
 * the body, and the scanner took it into labels, member names and cursors
 * (found by fuzz_assoc_object, which compares the two). Other raw control
 * bytes pass in both, and the escaped forms stay valid. */
static void test_batch_nul_in_string(void)
{
    static const char head[] =
        "{\"results\":[{\"from\":{\"id\":\"1\"},\"to\":[{\"toObjectId\":2,"
        "\"associationTypes\":[{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":1,";
#define TAIL(lit) lit, sizeof(lit) - 1
    static const struct {
        const char *tail; /* after head; may hold a NUL */
        size_t len;
        int rc;
    } cases[] = {
        {TAIL("\"label\":\"a\0b\"}]}]}]}"), ERR_PARSE},  /* in a label */
        {TAIL("\"label\":\"\\n\0\"}]}]}]}"), ERR_PARSE}, /* after an escape */
        {TAIL("\"lab\0el\":1}]}]}]}"), ERR_PARSE},       /* in a skipped name */
        {TAIL("\"label\":null}]}],\"paging\":{\"next\":{\"after\":\"MC\0%3D\"}}}]}"),
         ERR_PARSE},                                 /* in a cursor */
        {TAIL("\"label\":\"a\\u0000b\"}]}]}]}"), 0}, /* escaped: a label byte */
        {TAIL("\"label\":\"a\t\x01b\"}]}]}]}"), 0},  /* other raw controls pass */
    };
#undef TAIL
    assoc_buf b;
    hs_assoc_errors errs;
    assoc_buf_init(&b);
    hs_assoc_errors_init(&errs);
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        char body[256];
        size_t n = sizeof(head) - 1;
        memcpy(body, head, n);
        memcpy(body + n, cases[i].tail, cases[i].len);
        err_info e = {0, ""};
        assoc_buf_reset(&b);
        hs_assoc_errors_reset(&errs);
        int rc = parse_batch_n(body, n + cases[i].len, 200, &b, &errs, &e);
        CHECKF(rc == cases[i].rc && (rc == 0 || strstr(e.ei_msg, "a NUL byte in a string")),
               "case %zu: rc %d, message \"%s\"; want rc %d", i, rc, e.ei_msg, cases[i].rc);
    }
    assoc_buf_free(&b);
    hs_assoc_errors_free(&errs);
}

static void test_batch_malformed(void)
{
    static const struct {
        const char *body;
        const char *msg;
    } cases[] = {
        {"", "assoc batch read: empty body"},
        {" ", "truncated JSON"},
        {"{", "truncated JSON"},
        {"{\"results\":[]", "truncated JSON"},
        {"{\"results\":[]}}", "trailing bytes after the JSON value at byte 14"},
        {"{\"results\":[]} x", "trailing bytes"},
        {"{\"results\":[],}", "malformed JSON at byte"},
        {"{\"results\":[01]}", "malformed JSON"},
        {"{results:[]}", "malformed JSON"},
        {"<html>502 Bad Gateway</html>", "malformed JSON at byte 0"},
        {"{\"results\":[\"\\x\"]}", "malformed JSON"},
        {"{\"results\":[tru]}", "malformed JSON"},
        {"{'results':[]}", "malformed JSON at byte 1"},
        {"{\"results\":[NaN]}", "malformed JSON at byte 12"},
        {"{\"results\":[1.]}", "invalid number"},
        {"{\"results\":[00]}", "invalid number (leading zero)"},
        {"{\"results\":[-01]}", "invalid number (leading zero)"},
        {"{\"results\":[-]}", "invalid number"},
        {"{\"results\":[1e+]}", "invalid number"},
        {"{\"results\":[\"\\u12G4\"]}", "invalid escape"},
        {"{\"results\":[\"\\a\"]}", "invalid escape"},
        {"{\"results\":[\"abc]}", "truncated JSON"},
        {"{\"results\":[\"\\u12", "truncated JSON"},
        {"{\"results\" []}", "expected ':'"},
        {"{\"results\":[] \"x\":1}", "expected ',' or '}'"},
        {"{\"results\":[1 2]}", "expected ',' or ']'"},
        {"{\"results\":[1,]}", "unexpected ']' after ','"},
        {"{,}", "expected a quoted member name"},
        {"{\"results\":[nul]}", "invalid literal"},
        {"{\"results\":[True]}", "unexpected character"},
        {"{\"results\":[1 2]}", "malformed JSON"},
    };
    assoc_buf b;
    hs_assoc_errors errs;
    assoc_buf_init(&b);
    hs_assoc_errors_init(&errs);
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        err_info e = {0, ""};
        int rc = parse_batch(cases[i].body, 200, &b, &errs, &e);
        CHECKF(rc == ERR_PARSE && strstr(e.ei_msg, cases[i].msg),
               "case %zu: rc %d, message \"%s\"; want \"%s\"", i, rc, e.ei_msg, cases[i].msg);
    }
    /* Trailing whitespace is fine. */
    err_info e = {0, ""};
    CHECK_EQ(parse_batch("{\"results\":[]} \n\r\t", 200, &b, &errs, &e), 0);
    /* A NUL inside the body is not the end of it. */
    CHECK_EQ(parse_batch_n("{\"results\":[]}\0", 15, 200, &b, &errs, &e), ERR_PARSE);
    CHECK_EQ(parse_batch_n("{\"results\":\0[]}", 15, 200, &b, &errs, &e), ERR_PARSE);
    assoc_buf_free(&b);
    hs_assoc_errors_free(&errs);
}

/* ------------------------------------------- every prefix of valid bodies */

typedef int (*parse_fn)(const char *body, size_t len, err_info *e);

static assoc_buf prefix_buf;
static hs_assoc_errors prefix_errs;
static hs_record_page prefix_page;
static hs_properties prefix_props;
static hs_assoc_labels prefix_labels;

static int pf_batch(const char *body, size_t len, err_info *e)
{
    return hs_parse_assoc_batch(body, len, 207, &prefix_buf, &prefix_errs, e);
}

static int pf_object(const char *body, size_t len, err_info *e)
{
    return hs_parse_assoc_object(body, len, 42, &prefix_buf, e);
}

static int pf_search(const char *body, size_t len, err_info *e)
{
    return hs_parse_search(body, len, "lastmodifieddate", &prefix_page, e);
}

static int pf_list(const char *body, size_t len, err_info *e)
{
    return hs_parse_object_list(body, len, "hs_lastmodifieddate", &prefix_page, e);
}

static int pf_props(const char *body, size_t len, err_info *e)
{
    return hs_parse_properties(body, len, &prefix_props, e);
}

static int pf_labels(const char *body, size_t len, err_info *e)
{
    return hs_parse_assoc_labels(body, len, &prefix_labels, e);
}

static int pf_token(const char *body, size_t len, err_info *e)
{
    hs_token t;
    return hs_parse_token(body, len, &t, e);
}

/* Parses every proper prefix of `body` (each an exact-size heap copy):
 * each must fail with ERR_PARSE and a message, and leave no output. The
 * whole body must parse. */
static void check_prefixes(const char *name, parse_fn fn, const char *body)
{
    size_t n = strlen(body);
    unsigned bad = 0;
    for (size_t len = 0; len < n; len++) {
        char *copy = exact_copy(body, len);
        if (!copy) {
            bad++;
            continue;
        }
        err_info e = {0, ""};
        int rc = fn(copy, len, &e);
        free(copy);
        bool ok = rc == ERR_PARSE && e.ei_msg[0] != '\0' && prefix_buf.ab_nparents == 0 &&
                  prefix_errs.ae_nempty == 0 && prefix_errs.ae_nfailures == 0 &&
                  prefix_page.rp_count == 0 && !prefix_page.rp_has_next &&
                  prefix_props.ps_count == 0 && prefix_labels.ls_count == 0;
        if (!ok && bad++ < 5)
            fprintf(stderr, "\n    %s: prefix of %zu bytes: rc %d \"%s\"", name, len, rc, e.ei_msg);
    }
    CHECKF(bad == 0, "%s: %u of %zu prefixes misparsed", name, bad, n);
    err_info e = {0, ""};
    char *copy = exact_copy(body, n);
    int rc = copy ? fn(copy, n, &e) : ERR_NOMEM;
    free(copy);
    CHECKF(rc == 0, "%s: the whole body: rc %d \"%s\"", name, rc, e.ei_msg);
    assoc_buf_reset(&prefix_buf);
    hs_assoc_errors_reset(&prefix_errs);
    hs_record_page_free(&prefix_page);
    hs_properties_free(&prefix_props);
    hs_assoc_labels_free(&prefix_labels);
}

static const char doc_search[] =
    "{\"total\":2,\n"
    " \"results\":[{\"id\":\"100451\",\n"
    "   \"properties\":{\"createdate\":\"2024-01-17T19:55:04.281Z\",\"email\":"
    "\"testperson@hubspot.com\",\"firstname\":\"Test\",\n"
    "     \"hs_object_id\":\"100451\",\"lastmodifieddate\":\"2024-09-11T13:27:39.356Z\","
    "\"lastname\":\"Person\"},\n"
    "   \"createdAt\":\"2024-01-17T19:55:04.281Z\",\"updatedAt\":\"2024-09-11T13:27:39.356Z\","
    "\"archived\":false}],\n"
    " \"paging\":{\"next\":{\"after\":\"10\"}}}";

static const char doc_list[] =
    "{\"results\":[{\"id\":\"513881705057\",\n"
    "   \"properties\":{\"hs_createdate\":\"2025-12-22T18:16:33.376Z\",\"hs_lastmodifieddate\":"
    "\"2025-12-22T18:16:33.376Z\",\"hs_object_id\":\"513881705057\"},\n"
    "   \"createdAt\":\"2025-12-22T18:16:33.376Z\",\"updatedAt\":\"2025-12-22T18:16:33.376Z\","
    "\"archived\":false,\n"
    "   \"url\":\"https://app.hubspot.com/contacts/{HubId}/record/0-420/513881705057\"}],\n"
    " \"paging\":{\"next\":{\"after\":\"513881705058\",\"link\":"
    "\"https://api.hubapi.com/crm/objects/v3/0-420?limit=1&after=513881705058\"}}}";

/* §5 item of the official deal definition, in a results list. */
static const char doc_properties[] =
    "{\"results\":[\n"
    "{\"name\":\"amount\",\"label\":\"Amount\",\"type\":\"number\",\"fieldType\":\"number\","
    "\"description\":\"The total amount of the deal\",\n"
    " \"groupName\":\"deal_revenue\",\"options\":[],\"displayOrder\":2,\"calculated\":false,"
    "\"externalOptions\":false,\n"
    " \"hasUniqueValue\":false,\"hidden\":false,\"hubspotDefined\":true,\"showCurrencySymbol\":"
    "true,\n"
    " \"modificationMetadata\":{\"archivable\":true,\"readOnlyDefinition\":true,"
    "\"readOnlyValue\":false},\n"
    " \"formField\":false,\"dataSensitivity\":\"non_sensitive\"}\n"
    "]}";

/* The labels of a pair, as HubSpot documents them (a null label: the
 * unlabelled type), with a user-defined and an integrator-defined label. */
static const char doc_labels[] =
    "{\"results\":[\n"
    " {\"category\":\"HUBSPOT_DEFINED\",\"typeId\":2,\"label\":\"Primary\"},\n"
    " {\"category\":\"HUBSPOT_DEFINED\",\"typeId\":280,\"label\":null},\n"
    " {\"category\":\"USER_DEFINED\",\"typeId\":1000,\"label\":\"Billing contact\"},\n"
    " {\"category\":\"INTEGRATOR_DEFINED\",\"typeId\":1234,\"label\":\"Synced by app\"}\n"
    "]}";

/* §7.1 token example with its "…" (an elided token) replaced by ASCII. */
static const char doc_token_ascii[] =
    "{\"token_type\":\"bearer\",\"refresh_token\":\"1e8fbfb1-8e96-4826-8b8d-c8af73715\",\n"
    " \"access_token\":\"CIrToaiiMhIHAAEAQAAAARiO1ooBIOP0sgE\",\"expires_in\":1800}";

static void test_every_prefix(void)
{
    assoc_buf_init(&prefix_buf);
    hs_assoc_errors_init(&prefix_errs);
    hs_record_page_init(&prefix_page);
    hs_properties_init(&prefix_props);
    hs_assoc_labels_init(&prefix_labels);
    check_prefixes("batch 200", pf_batch, doc_batch_200);
    check_prefixes("batch 207", pf_batch, doc_batch_207);
    check_prefixes("assoc get", pf_object, doc_assoc_get);
    check_prefixes("search", pf_search, doc_search);
    check_prefixes("list", pf_list, doc_list);
    check_prefixes("properties", pf_props, doc_properties);
    check_prefixes("association labels", pf_labels, doc_labels);
    check_prefixes("token", pf_token, doc_token_ascii);
    /* The error parser never fails: each prefix is "not JSON". */
    size_t n = strlen(doc_batch_207);
    unsigned bad = 0;
    for (size_t len = 0; len < n; len++) {
        char *copy = exact_copy(doc_batch_207, len);
        hs_error_body eb;
        hs_parse_error(copy, len, &eb);
        free(copy);
        bad += eb.eb_is_json || strncmp(eb.eb_message, "not JSON", 8) != 0;
    }
    CHECK_EQ(bad, 0);
    assoc_buf_free(&prefix_buf);
    hs_assoc_errors_free(&prefix_errs);
    hs_record_page_free(&prefix_page);
    hs_properties_free(&prefix_props);
    hs_assoc_labels_free(&prefix_labels);
}

/* ------------------------------------------------ the json-c oracle */

/*
 * An independent reading of the same responses: json-c's DOM, walked (the
 * body parsed into it as every other parser here does, hs_parse_json_object).
 * This is how hs_parse_assoc_batch first worked (and the module's original
 * contract); the streaming scanner that replaced it for speed must agree with
 * it on every body, which the differential tests below check, damaged bodies
 * included.
 */

/* Member `key` of object `o`: the value (NULL for JSON null) and whether the
 * key exists at all. */
static json_object *dom_member(json_object *o, const char *key, bool *present)
{
    json_object *v = NULL;
    bool p = json_object_object_get_ex(o, key, &v);
    if (present)
        *present = p;
    return p ? v : NULL;
}

/* A decimal uint64 filling all of s[0..n): no sign, no spaces, no overflow. */
static bool dom_digits(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Why a value is not an ID. */
typedef enum dom_id_status { DOM_ID_OK, DOM_ID_WRONG_TYPE, DOM_ID_BAD } dom_id_status;

/* A non-negative integer from a JSON number, or (when allow_string) from a
 * string of decimal digits. json-c stores integers exactly as int64 or uint64
 * and clamps anything larger to UINT64_MAX, so that value is refused as
 * out of range (no HubSpot ID comes near it). */
static dom_id_status dom_json_id(json_object *v, bool allow_string, uint64_t *out)
{
    json_type t = json_object_get_type(v);
    if (t == json_type_int) {
        if (json_object_get_int64(v) < 0)
            return DOM_ID_BAD;
        uint64_t u = json_object_get_uint64(v);
        if (u == UINT64_MAX)
            return DOM_ID_BAD;
        *out = u;
        return DOM_ID_OK;
    }
    if (t == json_type_string && allow_string) {
        const char *s = json_object_get_string(v);
        size_t n = (size_t)json_object_get_string_len(v);
        return dom_digits(s, n, out) ? DOM_ID_OK : DOM_ID_BAD;
    }
    return DOM_ID_WRONG_TYPE;
}

/* An ID given as a string of digits (from.id, results[].id). */
static dom_id_status dom_json_id_string(json_object *v, uint64_t *out)
{
    if (!json_object_is_type(v, json_type_string))
        return DOM_ID_WRONG_TYPE;
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    return dom_digits(s, n, out) ? DOM_ID_OK : DOM_ID_BAD;
}

/* Copies s[0..n) into dst[cap] NUL-terminated, cutting at a UTF-8 boundary. */
static void dom_copy_trunc(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* Copies dom_member `key` of `o` into dst when it is a string; "" otherwise. */
static void dom_copy_member(json_object *o, const char *key, char *dst, size_t cap)
{
    json_object *v = dom_member(o, key, NULL);
    if (json_object_is_type(v, json_type_string))
        dom_copy_trunc(dst, cap, json_object_get_string(v), (size_t)json_object_get_string_len(v));
    else
        dst[0] = '\0';
}

static bool dom_str_is(json_object *v, const char *lit, size_t n)
{
    return (size_t)json_object_get_string_len(v) == n &&
           memcmp(json_object_get_string(v), lit, n) == 0;
}

/* The category names by length: one comparison per type in the hot loop. */
static bool dom_category_of(const char *s, size_t n, assoc_category *c)
{
    switch (n) {
    case 15:
        *c = ASSOC_HUBSPOT_DEFINED;
        return memcmp(s, "HUBSPOT_DEFINED", 15) == 0;
    case 12:
        *c = ASSOC_USER_DEFINED;
        return memcmp(s, "USER_DEFINED", 12) == 0;
    case 18:
        *c = ASSOC_INTEGRATOR_DEFINED;
        return memcmp(s, "INTEGRATOR_DEFINED", 18) == 0;
    case 4:
        *c = ASSOC_WORK;
        return memcmp(s, "WORK", 4) == 0;
    default:
        return false;
    }
}

/* Makes room for one more element of `size` bytes in *items. */
static int dom_grow(void **items, size_t *cap, size_t len, size_t size)
{
    if (len < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*items, ncap * size);
    if (!p)
        return ERR_NOMEM;
    *items = p;
    *cap = ncap;
    return 0;
}

/* Where a to[] list sits, for messages: "results[i].to[j]" in a batch read,
 * "results[j]" in a single-record read. Formatted only on failure. */
typedef struct dom_loc {
    const char *tl_what;
    bool tl_batch;
    size_t tl_result;
} dom_loc;

static int dom_to_err(err_info *e, int code, const dom_loc *l, size_t j, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int dom_to_err(err_info *e, int code, const dom_loc *l, size_t j, const char *fmt, ...)
{
    char rest[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rest, sizeof(rest), fmt, ap);
    va_end(ap);
    if (l->tl_batch)
        return err_set(e, code, "%s: results[%zu].to[%zu]%s", l->tl_what, l->tl_result, j, rest);
    return err_set(e, code, "%s: results[%zu]%s", l->tl_what, j, rest);
}

/* Adds the links of one to[] array (its items are {toObjectId, associationTypes})
 * to the current parent of `out`. */
static int dom_parse_to_items(json_object *to, const dom_loc *l, assoc_buf *out, err_info *e)
{
    size_t nto = json_object_array_length(to);
    for (size_t j = 0; j < nto; j++) {
        json_object *item = json_object_array_get_idx(to, j);
        if (!json_object_is_type(item, json_type_object))
            return dom_to_err(e, ERR_SHAPE, l, j, " is not an object");
        bool present;
        json_object *jid = dom_member(item, "toObjectId", &present);
        uint64_t child_id = 0;
        if (!present)
            return dom_to_err(e, ERR_SHAPE, l, j, ".toObjectId is missing");
        switch (dom_json_id(jid, true, &child_id)) {
        case DOM_ID_OK:
            break;
        case DOM_ID_WRONG_TYPE:
            return dom_to_err(e, ERR_SHAPE, l, j, ".toObjectId is not a number");
        case DOM_ID_BAD:
            return dom_to_err(e, ERR_SHAPE, l, j,
                              ".toObjectId is not a non-negative 64-bit integer");
        }
        json_object *types = dom_member(item, "associationTypes", &present);
        if (!present)
            return dom_to_err(e, ERR_SHAPE, l, j, ".associationTypes is missing");
        if (!json_object_is_type(types, json_type_array))
            return dom_to_err(e, ERR_SHAPE, l, j, ".associationTypes is not an array");
        /* HubSpot always sends at least the unlabeled type: a link without
         * any is not a documented shape, and has nothing to store. */
        size_t ntypes = json_object_array_length(types);
        if (ntypes == 0)
            return dom_to_err(e, ERR_SHAPE, l, j, ".associationTypes is empty");
        int rc = assoc_buf_add_link(out, child_id);
        if (rc)
            return dom_to_err(e, rc, l, j, ": %s", err_strerror(rc));
        for (size_t k = 0; k < ntypes; k++) {
            json_object *t = json_object_array_get_idx(types, k);
            if (!json_object_is_type(t, json_type_object))
                return dom_to_err(e, ERR_SHAPE, l, j, ".associationTypes[%zu] is not an object", k);
            json_object *jcat = dom_member(t, "category", &present);
            assoc_category cat;
            if (!json_object_is_type(jcat, json_type_string))
                return dom_to_err(e, ERR_SHAPE, l, j, ".associationTypes[%zu].category is %s", k,
                                  present ? "not a string" : "missing");
            if (!dom_category_of(json_object_get_string(jcat),
                                 (size_t)json_object_get_string_len(jcat), &cat))
                return dom_to_err(e, ERR_SHAPE, l, j,
                                  ".associationTypes[%zu].category \"%.40s\" is unknown", k,
                                  json_object_get_string(jcat));
            json_object *jtype = dom_member(t, "typeId", &present);
            if (!json_object_is_type(jtype, json_type_int))
                return dom_to_err(e, ERR_SHAPE, l, j, ".associationTypes[%zu].typeId is %s", k,
                                  present ? "not an integer" : "missing");
            int64_t type_id = json_object_get_int64(jtype);
            if (type_id < INT32_MIN || type_id > INT32_MAX)
                return dom_to_err(e, ERR_SHAPE, l, j,
                                  ".associationTypes[%zu].typeId is not an int32", k);
            json_object *jlabel = dom_member(t, "label", NULL);
            const char *label = NULL;
            size_t label_len = 0;
            if (jlabel) {
                if (!json_object_is_type(jlabel, json_type_string))
                    return dom_to_err(e, ERR_SHAPE, l, j,
                                      ".associationTypes[%zu].label is neither a string nor null",
                                      k);
                label = json_object_get_string(jlabel);
                label_len = (size_t)json_object_get_string_len(jlabel);
            }
            rc = assoc_buf_add_type(out, (int32_t)type_id, cat, label, label_len);
            if (rc)
                return dom_to_err(e, rc, l, j, ".associationTypes[%zu]: %s", k,
                                  rc == ERR_TOO_BIG ? "label longer than 1 KiB" : err_strerror(rc));
        }
    }
    return 0;
}

/* Reads `paging.next.after` of `holder` into the current parent of `out`.
 * `where` prefixes messages ("results[3]." or ""). */
static int dom_parse_cursor(json_object *holder, const char *what, const char *where,
                            assoc_buf *out, err_info *e)
{
    json_object *paging = dom_member(holder, "paging", NULL), *next, *after;
    if (!paging)
        return 0; /* absent or null: no more pages */
    if (!json_object_is_type(paging, json_type_object))
        return err_set(e, ERR_SHAPE, "%s: %spaging is not an object", what, where);
    next = dom_member(paging, "next", NULL);
    if (!next)
        return 0;
    if (!json_object_is_type(next, json_type_object))
        return err_set(e, ERR_SHAPE, "%s: %spaging.next is not an object", what, where);
    bool present;
    after = dom_member(next, "after", &present);
    if (!json_object_is_type(after, json_type_string))
        return err_set(e, ERR_SHAPE, "%s: %spaging.next.after is %s", what, where,
                       present ? "not a string" : "missing");
    const char *s = json_object_get_string(after);
    size_t n = (size_t)json_object_get_string_len(after);
    if (n == 0 || memchr(s, '\0', n))
        return err_set(e, ERR_SHAPE, "%s: %spaging.next.after is %s", what, where,
                       n ? "not a valid cursor (NUL byte)" : "empty");
    if (n > HS_CURSOR_MAX)
        return err_set(e, ERR_TOO_BIG, "%s: %spaging.next.after is longer than %d bytes", what,
                       where, HS_CURSOR_MAX);
    int rc = assoc_buf_set_after(out, s, n);
    if (rc)
        return err_set(e, rc, "%s: %spaging.next.after: %s", what, where, err_strerror(rc));
    return 0;
}

/* The ID ending an error message: "No company is associated with deal 515690208449." */
static bool dom_id_from_message(const char *s, size_t n, uint64_t *out)
{
    while (n > 0 && (s[n - 1] == '.' || s[n - 1] == ' '))
        n--;
    size_t end = n;
    while (n > 0 && s[n - 1] >= '0' && s[n - 1] <= '9')
        n--;
    if (n == end || (n > 0 && s[n - 1] != ' '))
        return false;
    return dom_digits(s + n, end - n, out);
}

static int dom_add_empty_id(hs_assoc_errors *errs, uint64_t id)
{
    if (dom_grow((void **)&errs->ae_empty_ids, &errs->ae_empty_cap, errs->ae_nempty,
                 sizeof(*errs->ae_empty_ids)))
        return ERR_NOMEM;
    errs->ae_empty_ids[errs->ae_nempty++] = id;
    return 0;
}

static const char dom_no_assoc_sub[] = "crm.associations.NO_ASSOCIATIONS_FOUND";

/* Sorts one errors[] entry into errs. */
static int dom_parse_batch_error(json_object *err, size_t i, hs_assoc_errors *errs, err_info *e)
{
    static const char what[] = "assoc batch read";
    if (!json_object_is_type(err, json_type_object))
        return err_set(e, ERR_SHAPE, "%s: errors[%zu] is not an object", what, i);
    static const char *const strings[] = {"status", "category", "subCategory", "message"};
    for (size_t k = 0; k < sizeof(strings) / sizeof(strings[0]); k++) {
        json_object *v = dom_member(err, strings[k], NULL);
        if (v && !json_object_is_type(v, json_type_string))
            return err_set(e, ERR_SHAPE, "%s: errors[%zu].%s is not a string", what, i, strings[k]);
    }
    json_object *sub = dom_member(err, "subCategory", NULL);
    json_object *msg = dom_member(err, "message", NULL);
    json_object *ctx = dom_member(err, "context", NULL);
    json_object *ids = ctx && json_object_is_type(ctx, json_type_object)
                           ? dom_member(ctx, "fromObjectId", NULL)
                           : NULL;
    if (ctx && !json_object_is_type(ctx, json_type_object))
        return err_set(e, ERR_SHAPE, "%s: errors[%zu].context is not an object", what, i);
    if (ids && !json_object_is_type(ids, json_type_array))
        return err_set(e, ERR_SHAPE, "%s: errors[%zu].context.fromObjectId is not an array", what,
                       i);
    /* The from-ids the entry names: every string of digits in fromObjectId. */
    size_t nids = ids ? json_object_array_length(ids) : 0;
    uint64_t first_id = 0;
    bool has_id = false;
    bool no_assoc = sub && dom_str_is(sub, dom_no_assoc_sub, sizeof(dom_no_assoc_sub) - 1);
    size_t mark = errs->ae_nempty;
    for (size_t k = 0; k < nids; k++) {
        uint64_t id;
        if (dom_json_id(json_object_array_get_idx(ids, k), true, &id) != DOM_ID_OK) {
            errs->ae_nempty = mark; /* the list is not trustworthy: use the message */
            has_id = false;
            break;
        }
        if (!has_id)
            first_id = id;
        has_id = true;
        if (no_assoc && dom_add_empty_id(errs, id))
            return err_set(e, ERR_NOMEM, "%s: out of memory", what);
    }
    if (!has_id && msg)
        has_id = dom_id_from_message(json_object_get_string(msg),
                                     (size_t)json_object_get_string_len(msg), &first_id);
    if (no_assoc && has_id) {
        if (errs->ae_nempty == mark && dom_add_empty_id(errs, first_id))
            return err_set(e, ERR_NOMEM, "%s: out of memory", what);
        return 0;
    }
    if (dom_grow((void **)&errs->ae_failures, &errs->ae_failures_cap, errs->ae_nfailures,
                 sizeof(*errs->ae_failures)))
        return err_set(e, ERR_NOMEM, "%s: out of memory", what);
    hs_assoc_failure *f = &errs->ae_failures[errs->ae_nfailures++];
    f->af_from_id = has_id ? first_id : 0;
    f->af_has_from_id = has_id;
    dom_copy_member(err, "category", f->af_category, sizeof(f->af_category));
    dom_copy_member(err, "subCategory", f->af_sub_category, sizeof(f->af_sub_category));
    dom_copy_member(err, "message", f->af_message, sizeof(f->af_message));
    return 0;
}

/* Rewinds `b` to the counts it had before a failed parse. */
typedef struct dom_mark {
    size_t bm_parents, bm_links, bm_types, bm_strings;
} dom_mark;

static dom_mark dom_mark_of(const assoc_buf *b)
{
    return (dom_mark){b->ab_nparents, b->ab_nlinks, b->ab_ntypes, b->ab_strings.jb_len};
}

static void dom_rewind(assoc_buf *b, dom_mark m)
{
    b->ab_nparents = m.bm_parents;
    b->ab_nlinks = m.bm_links;
    b->ab_ntypes = m.bm_types;
    b->ab_strings.jb_len = m.bm_strings;
    if (b->ab_strings.jb_data)
        b->ab_strings.jb_data[m.bm_strings] = '\0';
}

static int dom_parse_batch_results(json_object *results, assoc_buf *out, err_info *e)
{
    static const char what[] = "assoc batch read";
    size_t n = json_object_array_length(results);
    for (size_t i = 0; i < n; i++) {
        json_object *r = json_object_array_get_idx(results, i);
        if (!json_object_is_type(r, json_type_object))
            return err_set(e, ERR_SHAPE, "%s: results[%zu] is not an object", what, i);
        bool present;
        json_object *from = dom_member(r, "from", &present);
        if (!json_object_is_type(from, json_type_object))
            return err_set(e, ERR_SHAPE, "%s: results[%zu].from is %s", what, i,
                           present ? "not an object" : "missing");
        json_object *jid = dom_member(from, "id", &present);
        uint64_t parent_id = 0;
        switch (dom_json_id_string(jid, &parent_id)) {
        case DOM_ID_OK:
            break;
        case DOM_ID_WRONG_TYPE:
            return err_set(e, ERR_SHAPE, "%s: results[%zu].from.id is %s", what, i,
                           present ? "not a string" : "missing");
        case DOM_ID_BAD:
            return err_set(e, ERR_SHAPE, "%s: results[%zu].from.id is not a decimal 64-bit ID",
                           what, i);
        }
        json_object *to = dom_member(r, "to", &present);
        if (!json_object_is_type(to, json_type_array))
            return err_set(e, ERR_SHAPE, "%s: results[%zu].to is %s", what, i,
                           present ? "not an array" : "missing");
        int rc = assoc_buf_begin_parent(out, parent_id);
        if (rc)
            return err_set(e, rc, "%s: results[%zu]: %s", what, i, err_strerror(rc));
        dom_loc l = {what, true, i};
        rc = dom_parse_to_items(to, &l, out, e);
        if (rc)
            return rc;
        if (dom_member(r, "paging", NULL)) {
            char where[40];
            snprintf(where, sizeof(where), "results[%zu].", i);
            rc = dom_parse_cursor(r, what, where, out, e);
            if (rc)
                return rc;
        }
        rc = assoc_buf_finish_parent(out);
        if (rc)
            return err_set(e, rc, "%s: results[%zu]: %s", what, i, err_strerror(rc));
    }
    return 0;
}

static int dom_parse_assoc_batch(const char *body, size_t len, int http_status, assoc_buf *out,
                                 hs_assoc_errors *errs, err_info *e)
{
    static const char what[] = "assoc batch read";
    if ((!body && len) || !out || !errs)
        return err_set(e, ERR_INVALID, "%s: NULL argument", what);
    if (http_status != 200 && http_status != 207)
        return err_set(e, ERR_INVALID,
                       "%s: HTTP %d is not a batch-read result (read it with hs_parse_error)", what,
                       http_status);
    json_object *root;
    int rc = hs_parse_json_object(what, body, len, &root, e);
    if (rc)
        return rc;
    dom_mark mark = dom_mark_of(out);
    size_t mark_empty = errs->ae_nempty, mark_fail = errs->ae_nfailures;
    uint64_t mark_num = errs->ae_num_errors;
    bool present;
    json_object *v = dom_member(root, "status", &present);
    if (present && !json_object_is_type(v, json_type_string)) {
        rc = err_set(e, ERR_SHAPE, "%s: status is not a string", what);
        goto done;
    }
    json_object *results = dom_member(root, "results", &present);
    if (!json_object_is_type(results, json_type_array)) {
        rc = err_set(e, ERR_SHAPE, "%s: results is %s", what, present ? "not an array" : "missing");
        goto done;
    }
    v = dom_member(root, "numErrors", &present);
    if (present) {
        uint64_t num;
        if (dom_json_id(v, false, &num) != DOM_ID_OK) {
            rc = err_set(e, ERR_SHAPE, "%s: numErrors is not a non-negative integer", what);
            goto done;
        }
        errs->ae_num_errors += num;
    }
    json_object *errors = dom_member(root, "errors", &present);
    if (present && !json_object_is_type(errors, json_type_array)) {
        rc = err_set(e, ERR_SHAPE, "%s: errors is not an array", what);
        goto done;
    }
    rc = dom_parse_batch_results(results, out, e);
    size_t nerr = errors ? json_object_array_length(errors) : 0;
    for (size_t i = 0; rc == 0 && i < nerr; i++)
        rc = dom_parse_batch_error(json_object_array_get_idx(errors, i), i, errs, e);
done:
    if (rc) {
        dom_rewind(out, mark);
        errs->ae_nempty = mark_empty;
        errs->ae_nfailures = mark_fail;
        errs->ae_num_errors = mark_num;
    }
    json_object_put(root);
    return rc;
}

static int dom_parse_assoc_object(const char *body, size_t len, uint64_t parent_id, assoc_buf *out,
                                  err_info *e)
{
    static const char what[] = "assoc read";
    if ((!body && len) || !out)
        return err_set(e, ERR_INVALID, "%s: NULL argument", what);
    json_object *root;
    int rc = hs_parse_json_object(what, body, len, &root, e);
    if (rc)
        return rc;
    dom_mark mark = dom_mark_of(out);
    bool present;
    json_object *results = dom_member(root, "results", &present);
    if (!json_object_is_type(results, json_type_array)) {
        rc = err_set(e, ERR_SHAPE, "%s: results is %s", what, present ? "not an array" : "missing");
        goto done;
    }
    rc = assoc_buf_begin_parent(out, parent_id);
    if (rc) {
        err_set(e, rc, "%s: %s", what, err_strerror(rc));
        goto done;
    }
    dom_loc l = {what, false, 0};
    rc = dom_parse_to_items(results, &l, out, e);
    if (rc == 0)
        rc = dom_parse_cursor(root, what, "", out, e);
    if (rc == 0) {
        rc = assoc_buf_finish_parent(out);
        if (rc)
            err_set(e, rc, "%s: %s", what, err_strerror(rc));
    }
done:
    if (rc)
        dom_rewind(out, mark);
    json_object_put(root);
    return rc;
}

/* ------------------------------------------- scanner against the oracle */

/* What one parser made of a body: its code and everything it produced. */
typedef struct outcome {
    int oc_rc;
    err_info oc_err;
    jbuf oc_text; /* dump of the buffer and the error lists */
} outcome;

static void outcome_text(jbuf *t, const assoc_buf *b, const hs_assoc_errors *errs)
{
    dump(b, t);
    for (size_t i = 0; errs && i < errs->ae_nempty; i++)
        jb_printf(t, "empty %" PRIu64 "\n", errs->ae_empty_ids[i]);
    for (size_t i = 0; errs && i < errs->ae_nfailures; i++) {
        const hs_assoc_failure *f = &errs->ae_failures[i];
        jb_printf(t, "failure %d %" PRIu64 " [%s] [%s] [%s]\n", f->af_has_from_id, f->af_from_id,
                  f->af_category, f->af_sub_category, f->af_message);
    }
    if (errs)
        jb_printf(t, "numErrors %" PRIu64 "\n", errs->ae_num_errors);
}

/* Runs the scanner (fast) or the oracle on an exact-size copy of the body. */
static void run_parser(bool fast, bool batch, const char *body, size_t len, outcome *oc)
{
    assoc_buf b;
    hs_assoc_errors errs;
    assoc_buf_init(&b);
    hs_assoc_errors_init(&errs);
    jb_init(&oc->oc_text);
    oc->oc_err = (err_info){0, ""};
    char *copy = exact_copy(body, len);
    if (batch)
        oc->oc_rc = fast ? hs_parse_assoc_batch(copy, len, 207, &b, &errs, &oc->oc_err)
                         : dom_parse_assoc_batch(copy, len, 207, &b, &errs, &oc->oc_err);
    else
        oc->oc_rc = fast ? hs_parse_assoc_object(copy, len, 77, &b, &oc->oc_err)
                         : dom_parse_assoc_object(copy, len, 77, &b, &oc->oc_err);
    free(copy);
    outcome_text(&oc->oc_text, &b, batch ? &errs : NULL);
    assoc_buf_free(&b);
    hs_assoc_errors_free(&errs);
}

/* True when an object of the JSON text `s` names a member twice (the text
 * is one json-c accepted). Names are compared after decoding the simple and
 * \u escapes; 64 names of 64 bytes per object and 40 levels are plenty for
 * the bodies these tests build. */
static bool has_duplicate_member(const char *s, size_t n)
{
    enum { LEVELS = 40, NAMES = 64, NAME_LEN = 64 };
    static char names[LEVELS][NAMES][NAME_LEN];
    static size_t nnames[LEVELS];
    static bool is_object[LEVELS];
    int depth = -1;
    char prev = 0; /* last structural character */
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '{' || c == '[') {
            if (++depth >= LEVELS)
                return false;
            is_object[depth] = c == '{';
            nnames[depth] = 0;
            prev = c;
        } else if (c == '}' || c == ']') {
            depth--;
            prev = c;
        } else if (c == ',' || c == ':') {
            prev = c;
        } else if (c == '"') {
            char name[NAME_LEN];
            size_t len = 0;
            for (i++; i < n && s[i] != '"'; i++) {
                char ch = s[i];
                if (ch == '\\' && i + 1 < n) {
                    ch = s[++i];
                    if (ch == 'u' && i + 4 < n) {
                        unsigned v = 0;
                        sscanf(s + i + 1, "%4x", &v);
                        ch = (char)v; /* the names here are ASCII */
                        i += 4;
                    }
                }
                if (len < NAME_LEN - 1)
                    name[len++] = ch;
            }
            name[len] = '\0';
            bool is_name = depth >= 0 && is_object[depth] && (prev == '{' || prev == ',');
            if (is_name) {
                for (size_t k = 0; k < nnames[depth]; k++)
                    if (strcmp(names[depth][k], name) == 0)
                        return true;
                if (nnames[depth] < NAMES)
                    memcpy(names[depth][nnames[depth]++], name, len + 1);
            }
            prev = '"';
        }
    }
    return false;
}

/* Where the scanner is deliberately stricter than json-c: numbers json-c
 * takes ("1.", "00", "-01", NaN, Infinity), single quotes, and a member given
 * twice (json-c keeps the last; the scanner refuses, on the first value it
 * finds wrong or on the repetition). */
static bool known_stricter(const char *body, size_t len, const outcome *fast)
{
    if (strstr(fast->oc_err.ei_msg, "appears twice") ||
        (fast->oc_rc == ERR_SHAPE && has_duplicate_member(body, len)))
        return true;
    if (fast->oc_rc != ERR_PARSE)
        return false;
    if (strstr(fast->oc_err.ei_msg, "invalid number"))
        return true;
    const char *at = strstr(fast->oc_err.ei_msg, "at byte ");
    size_t pos;
    if (!at || sscanf(at, "at byte %zu", &pos) != 1 || pos >= len)
        return false;
    return body[pos] == 'N' || body[pos] == 'I' || body[pos] == '\'';
}

/* json-c 0.16 turns an escaped surrogate pair whose code point has the bits
 * of a surrogate in its low 16 (U+1D800–U+1DFFF, U+2D800–…, every plane)
 * into U+FFFD; the scanner decodes it correctly. True when `body` has one. */
static bool json_c_pair_bug(const char *body, size_t len)
{
    for (size_t i = 0; i + 12 <= len; i++) {
        unsigned hi, lo;
        if (body[i] != '\\' || body[i + 1] != 'u' || body[i + 6] != '\\' || body[i + 7] != 'u')
            continue;
        char h[5] = {body[i + 2], body[i + 3], body[i + 4], body[i + 5], 0};
        char l[5] = {body[i + 8], body[i + 9], body[i + 10], body[i + 11], 0};
        if (sscanf(h, "%4x", &hi) != 1 || sscanf(l, "%4x", &lo) != 1)
            continue;
        if (hi >= 0xD800 && hi <= 0xDBFF && lo >= 0xDC00 && lo <= 0xDFFF) {
            unsigned cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
            if ((cp & 0xF800) == 0xD800)
                return true;
        }
    }
    return false;
}

typedef struct diff_stats {
    unsigned ds_bodies, ds_both_ok, ds_both_failed, ds_stricter, ds_mismatch;
} diff_stats;

/* Compares the two readings of one body; reports the first few mismatches. */
static void compare_parsers(bool batch, const char *body, size_t len, diff_stats *st)
{
    outcome fast, dom;
    run_parser(true, batch, body, len, &fast);
    run_parser(false, batch, body, len, &dom);
    st->ds_bodies++;
    bool ok;
    if (fast.oc_rc == 0 && dom.oc_rc == 0) {
        st->ds_both_ok++;
        ok = strcmp(jb_cstr(&fast.oc_text), jb_cstr(&dom.oc_text)) == 0 ||
             json_c_pair_bug(body, len);
    } else if (fast.oc_rc != 0 && dom.oc_rc != 0 &&
               (fast.oc_rc == ERR_PARSE) == (dom.oc_rc == ERR_PARSE)) {
        st->ds_both_failed++;
        /* Same class of failure; the buffers were rewound by both. */
        ok = strcmp(jb_cstr(&fast.oc_text), jb_cstr(&dom.oc_text)) == 0;
    } else if (fast.oc_rc != 0 && known_stricter(body, len, &fast)) {
        st->ds_stricter++;
        ok = true;
    } else {
        ok = false;
    }
    if (!ok && st->ds_mismatch++ < 5)
        fprintf(stderr,
                "\n    scanner and json-c disagree on %.*s%s\n      scanner: %d %s\n%s"
                "      json-c:  %d %s\n%s",
                (int)(len < 400 ? len : 400), body, len < 400 ? "" : "…", fast.oc_rc,
                fast.oc_err.ei_msg, jb_cstr(&fast.oc_text), dom.oc_rc, dom.oc_err.ei_msg,
                jb_cstr(&dom.oc_text));
    jb_free(&fast.oc_text);
    jb_free(&dom.oc_text);
}

/* Every fixed body of this file agrees, and so do all their prefixes. */
static void test_scanner_matches_oracle_fixed(void)
{
    static const char *const batch_bodies[] = {
        doc_batch_200,
        doc_batch_207,
        "{\"results\":[{\"to\":[{\"associationTypes\":[{\"label\":\"x\",\"typeId\":5,"
        "\"category\":\"WORK\"}],\"toObjectId\":3}],\"paging\":{\"prev\":{},\"next\":{\"link\":1,"
        "\"after\":\"Q%3D\"}},\"from\":{\"x\":[1,{}],\"id\":\"9\"}}],\"status\":\"COMPLETE\"}",
        " {\n \"results\" : [ { \"from\" : { \"id\" : \"1\" } , \"to\" : [ ] } ] } \n",
        "{\"\\u0072esults\":[{\"fr\\u006fm\":{\"id\":\"\\u0031\\u0032\"},\"to\":[{\"toObjectId\":"
        "\"7\",\"associationTypes\":[{\"category\":\"USER_\\u0044EFINED\",\"typeId\":1,\"label\":"
        "\"\\ud83d\\ude00\\ud83d\\u0041\\ude00\\t\\\"\"}]}]}]}",
        "{\"results\":[{\"from\":{\"id\":\"1\"},\"to\":[{\"toObjectId\":-0,\"associationTypes\":["
        "{\"category\":\"WORK\",\"typeId\":-0,\"label\":\"a\x01\tb\"}]}]}]}",
        "{\"results\":[{\"from\":{\"id\":\"1\"},\"to\":[{\"toObjectId\":1,\"toObjectId\":2,"
        "\"associationTypes\":[{\"category\":\"WORK\",\"typeId\":1,\"typeId\":2,\"label\":\"a\","
        "\"label\":null}]}]}]}",
        "{\"results\":[],\"numErrors\":3,\"errors\":[{\"subCategory\":"
        "\"crm.associations.NO_ASSOCIATIONS_FOUND\",\"context\":{\"fromObjectId\":[\"1\",2,\"x\"]},"
        "\"message\":\"No deal is associated with company 44.\"},{\"context\":null,\"message\":"
        "null,\"category\":\"X\"},{\"context\":{\"fromObjectId\":null},\"subCategory\":"
        "\"crm.associations.NO_ASSOCIATIONS_FOUND\",\"message\":\"No x 18446744073709551615.\"}]}",
        "{\"results\":[{\"from\":{\"id\":\"1\"},\"to\":[{\"toObjectId\":1.0,\"associationTypes\":[]"
        "}]}]}",
        "{\"results\":[{\"from\":{\"id\":\"1\"},\"to\":[{\"toObjectId\":1e2,\"associationTypes\":[]"
        "}]}]}",
        "{\"results\":[1,]}",
        "{\"results\":[]}[",
        "{\"results\":[{\"from\":{\"id\":\"1\"},\"to\":[{\"toObjectId\":2,\"associationTypes\":[{"
        "\"category\":\"WORK\",\"typeId\":1}]}],\"paging\":{\"next\":null}}]}",
    };
    diff_stats st = {0, 0, 0, 0, 0};
    for (size_t i = 0; i < UT_COUNT(batch_bodies); i++) {
        size_t n = strlen(batch_bodies[i]);
        for (size_t len = 0; len <= n; len++)
            compare_parsers(true, batch_bodies[i], len, &st);
    }
    size_t n = strlen(doc_assoc_get);
    for (size_t len = 0; len <= n; len++)
        compare_parsers(false, doc_assoc_get, len, &st);
    CHECK_EQ(st.ds_mismatch, 0);
    CHECK(st.ds_both_ok >= 10);
    /* Nesting: json-c stops at 32 levels, and so does the scanner. */
    jbuf deep;
    jb_init(&deep);
    for (int levels = 29; levels <= 34; levels++) {
        jb_reset(&deep);
        jb_lit(&deep, "{\"results\":[],\"x\":");
        for (int i = 0; i < levels - 1; i++)
            jb_char(&deep, '[');
        for (int i = 0; i < levels - 1; i++)
            jb_char(&deep, ']');
        jb_char(&deep, '}');
        compare_parsers(true, deep.jb_data, deep.jb_len, &st);
    }
    jb_free(&deep);
    CHECK_EQ(st.ds_mismatch, 0);
}

/* ---- random bodies */

typedef struct rng {
    uint64_t r_state;
} rng;

static uint64_t rng_next(rng *r)
{
    r->r_state ^= r->r_state >> 12;
    r->r_state ^= r->r_state << 25;
    r->r_state ^= r->r_state >> 27;
    return r->r_state * 2685821657736338717ULL;
}

static unsigned rng_below(rng *r, unsigned n)
{
    return (unsigned)(rng_next(r) % n);
}

static void ws(jbuf *b, rng *r)
{
    static const char *const pads[] = {"", "", "", "", " ", "\n  ", "\t", "\r\n"};
    const char *p = pads[rng_below(r, UT_COUNT(pads))];
    jb_raw(b, p, strlen(p));
}

/* A member name, sometimes with a needless escape. */
static void key(jbuf *b, rng *r, const char *k)
{
    ws(b, r);
    if (rng_below(r, 12) == 0) {
        jb_printf(b, "\"\\u%04x%s\"", (unsigned)(unsigned char)k[0], k + 1);
    } else {
        jb_char(b, '"');
        jb_raw(b, k, strlen(k));
        jb_char(b, '"');
    }
    ws(b, r);
    jb_char(b, ':');
    ws(b, r);
}

static void random_label(jbuf *b, rng *r)
{
    static const char *const labels[] = {
        "\"Primary\"",
        "\"Decision maker\"",
        "\"Entscheider \\u00e4\"",
        "\"Entscheider \xc3\xa4\"",
        "\"\\ud83d\\ude00 smile\"",
        "\"\\ud83d lone\"",
        "\"\\ude00 lone low\"",
        "\"tab\\there \\\"q\\\" \\\\ \\/ \\b\\f\\n\\r\"",
        "\"\"",
        "\"raw\tcontrol\"",
        "\"\\u0000nul\"",
        "null",
    };
    const char *l = labels[rng_below(r, UT_COUNT(labels))];
    jb_raw(b, l, strlen(l));
}

static void random_unknown(jbuf *b, rng *r)
{
    static const char *const values[] = {"1",
                                         "-2.5e3",
                                         "true",
                                         "false",
                                         "null",
                                         "\"s\"",
                                         "[1,[2,{\"a\":[]}]]",
                                         "{\"x\":{\"y\":null}}",
                                         "[]",
                                         "{}"};
    const char *v = values[rng_below(r, UT_COUNT(values))];
    jb_raw(b, v, strlen(v));
}

static void random_id(jbuf *b, rng *r, bool as_string)
{
    static const uint64_t special[] = {0,
                                       1,
                                       5790939450ULL,
                                       9007199254740993ULL,
                                       18014398509481985ULL,
                                       9223372036854775807ULL,
                                       9223372036854775808ULL,
                                       18446744073709551614ULL};
    uint64_t v = rng_below(r, 3) ? 5000000000ULL + rng_below(r, 100000)
                                 : special[rng_below(r, UT_COUNT(special))];
    if (as_string)
        jb_u64_str(b, v);
    else
        jb_u64(b, v);
}

static void random_type(jbuf *b, rng *r)
{
    static const char *const cats[] = {"HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED",
                                       "WORK"};
    static const int64_t type_ids[] = {1, 279, 280, 30, -5, 2147483647, -2147483648};
    jb_char(b, '{');
    unsigned order = rng_below(r, 6);
    for (unsigned m = 0; m < 3; m++) {
        unsigned which = (m + order) % 3;
        if (m)
            jb_char(b, ',');
        if (which == 0) {
            key(b, r, "category");
            jb_str(b, cats[rng_below(r, 4)]);
        } else if (which == 1) {
            key(b, r, "typeId");
            jb_i64(b, type_ids[rng_below(r, UT_COUNT(type_ids))]);
        } else {
            key(b, r, "label");
            random_label(b, r);
        }
    }
    if (rng_below(r, 5) == 0) {
        jb_char(b, ',');
        key(b, r, "fromObjectTypeId");
        random_unknown(b, r);
    }
    ws(b, r);
    jb_char(b, '}');
}

static void random_link(jbuf *b, rng *r)
{
    jb_char(b, '{');
    bool types_first = rng_below(r, 4) == 0;
    for (int m = 0; m < 2; m++) {
        if (m)
            jb_char(b, ',');
        if ((m == 0) != types_first) {
            key(b, r, "toObjectId");
            random_id(b, r, rng_below(r, 8) == 0);
        } else {
            key(b, r, "associationTypes");
            jb_char(b, '[');
            unsigned nt = 1 + rng_below(r, 3);
            for (unsigned k = 0; k < nt; k++) {
                if (k)
                    jb_char(b, ',');
                ws(b, r);
                random_type(b, r);
            }
            jb_char(b, ']');
        }
    }
    jb_char(b, '}');
}

static void random_links(jbuf *b, rng *r)
{
    jb_char(b, '[');
    unsigned n = rng_below(r, 4);
    for (unsigned j = 0; j < n; j++) {
        if (j)
            jb_char(b, ',');
        ws(b, r);
        random_link(b, r);
    }
    jb_char(b, ']');
}

static void random_paging(jbuf *b, rng *r)
{
    switch (rng_below(r, 4)) {
    case 0:
        jb_lit(b, "null");
        break;
    case 1:
        jb_lit(b, "{\"prev\":{\"before\":\"x\"}}");
        break;
    default:
        jb_lit(b, "{\"next\":{\"after\":\"MC0xLT");
        jb_u64(b, rng_below(r, 1000));
        jb_lit(b, "%3D\",\"link\":\"https://x/?after=MC0x%3D\"}}");
    }
}

static void random_result(jbuf *b, rng *r)
{
    jb_char(b, '{');
    unsigned order = rng_below(r, 3), nm = 2 + rng_below(r, 2);
    for (unsigned m = 0; m < nm; m++) {
        unsigned which = m < 2 ? (m + order) % 2 : 2;
        if (m)
            jb_char(b, ',');
        if (which == 0) {
            key(b, r, "from");
            jb_char(b, '{');
            key(b, r, "id");
            random_id(b, r, true);
            jb_char(b, '}');
        } else if (which == 1) {
            key(b, r, "to");
            random_links(b, r);
        } else {
            key(b, r, "paging");
            random_paging(b, r);
        }
    }
    jb_char(b, '}');
}

static void random_error(jbuf *b, rng *r)
{
    static const char *const subs[] = {"crm.associations.NO_ASSOCIATIONS_FOUND",
                                       "crm.associations.NO_ASSOCIATIONS_FOUND",
                                       "crm.associations.OTHER"};
    jb_lit(b, "{\"status\":\"error\",\"category\":\"OBJECT_NOT_FOUND\"");
    if (rng_below(r, 5)) {
        jb_char(b, ',');
        key(b, r, "subCategory");
        jb_str(b, subs[rng_below(r, UT_COUNT(subs))]);
    }
    jb_char(b, ',');
    key(b, r, "message");
    jb_lit(b, "\"No company is associated with deal ");
    random_id(b, r, false);
    jb_lit(b, ".\"");
    if (rng_below(r, 4)) {
        jb_char(b, ',');
        key(b, r, "context");
        jb_lit(b, "{\"fromObjectId\":[");
        unsigned n = 1 + rng_below(r, 2);
        for (unsigned k = 0; k < n; k++) {
            if (k)
                jb_char(b, ',');
            random_id(b, r, rng_below(r, 4) != 0);
        }
        jb_lit(b, "],\"toObjectType\":[\"company\"]}");
    }
    jb_char(b, '}');
}

static void random_batch_body(jbuf *b, rng *r)
{
    jb_char(b, '{');
    unsigned order = rng_below(r, 4);
    for (unsigned m = 0; m < 4; m++) {
        unsigned which = (m + order) % 4;
        if (m)
            jb_char(b, ',');
        if (which == 0) {
            key(b, r, "status");
            jb_lit(b, "\"COMPLETE\"");
        } else if (which == 1) {
            key(b, r, "results");
            jb_char(b, '[');
            unsigned n = rng_below(r, 4);
            for (unsigned i = 0; i < n; i++) {
                if (i)
                    jb_char(b, ',');
                ws(b, r);
                random_result(b, r);
            }
            jb_char(b, ']');
        } else if (which == 2) {
            key(b, r, "errors");
            jb_char(b, '[');
            unsigned n = rng_below(r, 3);
            for (unsigned i = 0; i < n; i++) {
                if (i)
                    jb_char(b, ',');
                random_error(b, r);
            }
            jb_char(b, ']');
            jb_char(b, ',');
            key(b, r, "numErrors");
            jb_u64(b, n);
        } else {
            key(b, r, "startedAt");
            jb_lit(b, "\"2024-10-21T20:22:42.152Z\"");
        }
    }
    ws(b, r);
    jb_char(b, '}');
    ws(b, r);
}

static void random_object_body(jbuf *b, rng *r)
{
    jb_char(b, '{');
    key(b, r, "results");
    random_links(b, r);
    if (rng_below(r, 2)) {
        jb_char(b, ',');
        key(b, r, "paging");
        random_paging(b, r);
    }
    jb_char(b, '}');
}

/* Damages a body: deletes, inserts, replaces or duplicates bytes, or cuts it. */
static void mutate(jbuf *b, rng *r)
{
    static const char alphabet[] = "{}[]\":,0123456789-+.eE\\ntfalsru x'\t\x01\xc3\xa4";
    if (b->jb_len == 0)
        return;
    size_t at = rng_below(r, (unsigned)b->jb_len);
    switch (rng_below(r, 5)) {
    case 0: /* delete */
        memmove(b->jb_data + at, b->jb_data + at + 1, b->jb_len - at - 1);
        b->jb_len--;
        break;
    case 1: { /* insert */
        char c = alphabet[rng_below(r, sizeof(alphabet) - 1)];
        jb_char(b, ' ');
        memmove(b->jb_data + at + 1, b->jb_data + at, b->jb_len - at - 1);
        b->jb_data[at] = c;
        break;
    }
    case 2: /* replace */
        b->jb_data[at] = alphabet[rng_below(r, sizeof(alphabet) - 1)];
        break;
    case 3: { /* duplicate a short span */
        size_t n = 1 + rng_below(r, 12);
        if (at + n > b->jb_len)
            n = b->jb_len - at;
        char span[16];
        memcpy(span, b->jb_data + at, n);
        size_t ins = rng_below(r, (unsigned)b->jb_len);
        for (size_t k = 0; k < n; k++)
            jb_char(b, ' ');
        memmove(b->jb_data + ins + n, b->jb_data + ins, b->jb_len - n - ins);
        memcpy(b->jb_data + ins, span, n);
        break;
    }
    default: /* cut */
        b->jb_len = at;
        break;
    }
    if (b->jb_data)
        b->jb_data[b->jb_len] = '\0';
}

/* Thousands of random bodies, intact and damaged: the scanner and json-c
 * agree on each (or the scanner is stricter in a documented way). */
static void test_scanner_matches_oracle_random(void)
{
    rng r = {0x5DEECE66DULL};
    diff_stats intact = {0, 0, 0, 0, 0}, damaged = {0, 0, 0, 0, 0};
    jbuf b;
    jb_init(&b);
    for (int iter = 0; iter < 6000; iter++) {
        bool batch = rng_below(&r, 5) != 0;
        jb_reset(&b);
        if (batch)
            random_batch_body(&b, &r);
        else
            random_object_body(&b, &r);
        REQUIRE(jb_ok(&b));
        compare_parsers(batch, b.jb_data, b.jb_len, &intact);
        for (int k = 0; k < 3; k++) {
            unsigned nmut = 1 + rng_below(&r, 3);
            for (unsigned m = 0; m < nmut; m++)
                mutate(&b, &r);
            compare_parsers(batch, b.jb_data ? b.jb_data : "", b.jb_len, &damaged);
        }
    }
    CHECK_EQ(intact.ds_mismatch, 0);
    CHECK_EQ(damaged.ds_mismatch, 0);
    /* The generator must exercise both outcomes, not only failures. */
    CHECK(intact.ds_both_ok > intact.ds_bodies / 2);
    CHECK(damaged.ds_both_ok > 100);
    CHECK(damaged.ds_both_failed > damaged.ds_bodies / 2);
    fprintf(stderr,
            "\n    intact: %u bodies, %u accepted, %u refused by both, %u stricter"
            "\n    damaged: %u bodies, %u accepted, %u refused by both, %u stricter\n    ",
            intact.ds_bodies, intact.ds_both_ok, intact.ds_both_failed, intact.ds_stricter,
            damaged.ds_bodies, damaged.ds_both_ok, damaged.ds_both_failed, damaged.ds_stricter);
done:
    jb_free(&b);
}

/* ------------------------------------------------- single-record read §2.3 */

static void test_assoc_object(void)
{
    assoc_buf b;
    assoc_buf_init(&b);
    err_info e = {0, ""};
    char *copy = exact_copy(doc_assoc_get, strlen(doc_assoc_get));
    REQUIRE(copy != NULL);
    REQUIRE_EQ(hs_parse_assoc_object(copy, strlen(doc_assoc_get), 29851, &b, &e), 0);
    CHECK_STR(dumped(&b), "29851>5790939450 279:H:~\n"
                          "29851>17705714757 30:U:Decision maker 279:H:~\n");
    static const char paged[] = "{\"results\":[{\"toObjectId\":3,\"associationTypes\":[" AT "]}],"
                                "\"paging\":{\"next\":{\"after\":\"MC0xLTM%3D\",\"link\":\"x\"}}}";
    REQUIRE_EQ(hs_parse_assoc_object(paged, strlen(paged), 7, &b, &e), 0);
    CHECK_STR(assoc_after(&b, &b.ab_parents[1]), "MC0xLTM%3D");
    static const char empty[] = "{\"results\":[]}";
    REQUIRE_EQ(hs_parse_assoc_object(empty, strlen(empty), 8, &b, &e), 0);
    CHECK_EQ(b.ab_nparents, 3);
    CHECK_EQ(b.ab_parents[2].ap_nlinks, 0);
    /* Errors name results[j] directly and leave the buffer as it was. */
    static const char bad[] = "{\"results\":[{\"toObjectId\":3,\"associationTypes\":[" AT "]},"
                              "{\"toObjectId\":-3,\"associationTypes\":[" AT "]}]}";
    CHECK_EQ(hs_parse_assoc_object(bad, strlen(bad), 9, &b, &e), ERR_SHAPE);
    CHECK_STR(e.ei_msg, "assoc read: results[1].toObjectId is not a non-negative 64-bit integer");
    static const char bad2[] = "{\"results\":[],\"paging\":{\"next\":{\"after\":1}}}";
    CHECK_EQ(hs_parse_assoc_object(bad2, strlen(bad2), 9, &b, &e), ERR_SHAPE);
    CHECK_STR(e.ei_msg, "assoc read: paging.next.after is not a string");
    CHECK_EQ(hs_parse_assoc_object("{}", 2, 9, &b, &e), ERR_SHAPE);
    CHECK_STR(e.ei_msg, "assoc read: results is missing");
    CHECK_EQ(b.ab_nparents, 3);
done:
    free(copy);
    assoc_buf_free(&b);
}

/* ---------------------------------------------------------- search, list */

static int parse_search_str(const char *body, const char *prop, hs_record_page *page, err_info *e)
{
    char *copy = exact_copy(body, strlen(body));
    int rc = copy ? hs_parse_search(copy, strlen(body), prop, page, e) : ERR_NOMEM;
    free(copy);
    return rc;
}

static int parse_list_str(const char *body, const char *prop, hs_record_page *page, err_info *e)
{
    char *copy = exact_copy(body, strlen(body));
    int rc = copy ? hs_parse_object_list(copy, strlen(body), prop, page, e) : ERR_NOMEM;
    free(copy);
    return rc;
}

static void test_search_doc(void)
{
    hs_record_page page;
    hs_record_page_init(&page);
    err_info e = {0, ""};
    REQUIRE_EQ(parse_search_str(doc_search, "lastmodifieddate", &page, &e), 0);
    CHECK(page.rp_has_total);
    CHECK_EQ(page.rp_total, 2);
    REQUIRE_EQ(page.rp_count, 1);
    CHECK_EQ(page.rp_items[0].rec_id, 100451);
    CHECK(page.rp_items[0].rec_has_lastmod);
    CHECK_EQ(page.rp_items[0].rec_lastmod_ms, INT64_C(1726061259356));
    CHECK(!page.rp_items[0].rec_archived);
    CHECK(!page.rp_items[0].rec_has_archived_at);
    CHECK(page.rp_has_next);
    CHECK_STR(page.rp_after, "10");
    CHECK(page.rp_next_is_number);
    CHECK_EQ(page.rp_next_offset, 10);
    /* The other object types' property is absent here: no lastmod, no error. */
    REQUIRE_EQ(parse_search_str(doc_search, "hs_lastmodifieddate", &page, &e), 0);
    CHECK(!page.rp_items[0].rec_has_lastmod);
    CHECK_EQ(page.rp_items[0].rec_lastmod_ms, 0);
done:
    hs_record_page_free(&page);
}

static void test_search_values(void)
{
    static const char body[] =
        "{\"total\":10000,\"results\":["
        "{\"id\":\"9223372036854775807\",\"properties\":{\"hs_lastmodifieddate\":null}},"
        "{\"id\":\"18014398509481985\",\"properties\":{\"hs_lastmodifieddate\":"
        "\"1700000000123\"}},"
        "{\"id\":5434402448,\"properties\":{\"hs_lastmodifieddate\":\"1970-01-01T00:00:00Z\"}},"
        "{\"id\":\"57156923994\",\"properties\":{\"hs_lastmodifieddate\":"
        "\"2024-02-29T23:59:59.999Z\"},\"archived\":true,\"archivedAt\":"
        "\"2024-03-01T00:00:00.000Z\"},"
        "{\"id\":\"1\",\"properties\":{}}"
        "]}";
    hs_record_page page;
    hs_record_page_init(&page);
    err_info e = {0, ""};
    REQUIRE_EQ(parse_search_str(body, "hs_lastmodifieddate", &page, &e), 0);
    CHECK_EQ(page.rp_total, 10000);
    CHECK(!page.rp_has_next);
    CHECK_STR(page.rp_after, "");
    REQUIRE_EQ(page.rp_count, 5);
    const hs_record *r = page.rp_items;
    CHECK_EQ(r[0].rec_id, INT64_MAX);
    CHECK(!r[0].rec_has_lastmod);
    CHECK_EQ(r[1].rec_id, 18014398509481985ULL);
    CHECK(r[1].rec_has_lastmod);
    CHECK_EQ(r[1].rec_lastmod_ms, INT64_C(1700000000123));
    CHECK_EQ(r[2].rec_id, 5434402448ULL);
    CHECK(r[2].rec_has_lastmod);
    CHECK_EQ(r[2].rec_lastmod_ms, 0);
    CHECK_EQ(r[3].rec_lastmod_ms, INT64_C(1709251199999));
    CHECK(r[3].rec_archived);
    CHECK(r[3].rec_has_archived_at);
    CHECK_EQ(r[3].rec_archived_at_ms, INT64_C(1709251200000));
    CHECK(!r[4].rec_has_lastmod);
    /* The page is refilled, not appended to; total 0 and no results is fine. */
    REQUIRE_EQ(parse_search_str("{\"total\":0,\"results\":[]}", "x", &page, &e), 0);
    CHECK_EQ(page.rp_count, 0);
    CHECK_EQ(page.rp_total, 0);
done:
    hs_record_page_free(&page);
}

/* Count rollups asked for beside the last-modified time: HubSpot renders
 * numbers as strings; a fraction is cut; null, absent, negative or not a
 * number read as 0 (a hint, never an error); a page asking for none reads
 * none. */
static void test_list_counts(void)
{
    hs_record_page page;
    hs_record_page_init(&page);
    err_info e = {0, ""};
    static const char body[] = "{\"results\":["
                               "{\"id\":\"1\",\"properties\":{\"n\":\"2000\",\"m\":\"7.9\"}},"
                               "{\"id\":\"2\",\"properties\":{\"n\":null,\"m\":12}},"
                               "{\"id\":\"3\",\"properties\":{\"n\":\"-4\",\"m\":\"many\"}},"
                               "{\"id\":\"4\",\"properties\":{\"n\":\"99999999999\",\"m\":\"5 \"}},"
                               "{\"id\":\"5\",\"properties\":{\"m\":true}}]}";
    page.rp_count_names[0] = "n";
    page.rp_count_names[1] = "m";
    page.rp_ncount_names = 2;
    REQUIRE_EQ(parse_list_str(body, "hs_lastmodifieddate", &page, &e), 0);
    REQUIRE_EQ(page.rp_count, 5);
    static const uint32_t want[5][2] = {{2000, 7}, {0, 12}, {0, 0}, {UINT32_MAX, 0}, {0, 0}};
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(page.rp_items[i].rec_counts[0], want[i][0]);
        CHECK_EQ(page.rp_items[i].rec_counts[1], want[i][1]);
    }
    page.rp_ncount_names = 0;
    REQUIRE_EQ(parse_search_str("{\"total\":1,\"results\":[{\"id\":\"1\",\"properties\":"
                                "{\"n\":\"2000\"}}]}",
                                "hs_lastmodifieddate", &page, &e),
               0);
    CHECK_EQ(page.rp_items[0].rec_counts[0], 0);
done:
    hs_record_page_free(&page);
}

static void test_list_doc_and_archived(void)
{
    hs_record_page page;
    hs_record_page_init(&page);
    err_info e = {0, ""};
    REQUIRE_EQ(parse_list_str(doc_list, "hs_lastmodifieddate", &page, &e), 0);
    CHECK(!page.rp_has_total);
    REQUIRE_EQ(page.rp_count, 1);
    CHECK_EQ(page.rp_items[0].rec_id, 513881705057ULL);
    CHECK(page.rp_items[0].rec_has_lastmod);
    CHECK_EQ(page.rp_items[0].rec_lastmod_ms, INT64_C(1766427393376));
    CHECK(!page.rp_items[0].rec_archived);
    CHECK(page.rp_has_next);
    CHECK_STR(page.rp_after, "513881705058");
    CHECK_EQ(page.rp_after_len, 12);
    CHECK(page.rp_next_is_number);
    CHECK_EQ(page.rp_next_offset, 513881705058ULL);
    static const char archived[] =
        "{\"results\":[{\"id\":\"5\",\"properties\":{\"lastmodifieddate\":"
        "\"2026-01-01T00:00:00.000Z\"},\"archived\":true,\"archivedAt\":"
        "\"2026-01-02T00:00:00.000Z\"},{\"id\":\"6\",\"properties\":{},\"archived\":true,"
        "\"archivedAt\":null}],\"paging\":{\"next\":{\"after\":\"opaque%3D\"}}}";
    REQUIRE_EQ(parse_list_str(archived, "lastmodifieddate", &page, &e), 0);
    REQUIRE_EQ(page.rp_count, 2);
    CHECK(page.rp_items[0].rec_archived);
    CHECK(page.rp_items[0].rec_has_archived_at);
    CHECK_EQ(page.rp_items[0].rec_archived_at_ms, INT64_C(1767312000000));
    CHECK_EQ(page.rp_items[0].rec_lastmod_ms, INT64_C(1767225600000));
    CHECK(page.rp_items[1].rec_archived);
    CHECK(!page.rp_items[1].rec_has_archived_at);
    CHECK_STR(page.rp_after, "opaque%3D");
    CHECK(!page.rp_next_is_number);
    /* The last page has no paging. */
    REQUIRE_EQ(parse_list_str("{\"results\":[]}", "lastmodifieddate", &page, &e), 0);
    CHECK(!page.rp_has_next);
    CHECK_EQ(page.rp_count, 0);
done:
    hs_record_page_free(&page);
}

static void test_search_list_wrong_types(void)
{
#define S1(rec) "{\"total\":1,\"results\":[" rec "]}"
    static const struct {
        bool search;
        const char *body;
        int code;
        const char *msg;
    } cases[] = {
        {true, "{\"results\":[]}", ERR_SHAPE, "search response: total is missing"},
        {true, "{\"total\":\"2\",\"results\":[]}", ERR_SHAPE, "total is not a non-negative"},
        {true, "{\"total\":-1,\"results\":[]}", ERR_SHAPE, "total is not a non-negative"},
        {true, "{\"total\":1.5,\"results\":[]}", ERR_SHAPE, "total is not a non-negative"},
        {true, "{\"total\":1}", ERR_SHAPE, "search response: results is missing"},
        {true, "{\"total\":1,\"results\":{}}", ERR_SHAPE, "results is not an array"},
        {true, S1("5"), ERR_SHAPE, "search response: results[0] is not an object"},
        {true, S1("{\"properties\":{}}"), ERR_SHAPE, "results[0].id is missing"},
        {true, S1("{\"id\":true,\"properties\":{}}"), ERR_SHAPE, "results[0].id is not a string"},
        {true, S1("{\"id\":null,\"properties\":{}}"), ERR_SHAPE, "results[0].id is not a string"},
        {true, S1("{\"id\":\"x1\",\"properties\":{}}"), ERR_SHAPE,
         "results[0].id is not a decimal 64-bit ID"},
        {true, S1("{\"id\":-1,\"properties\":{}}"), ERR_SHAPE, "results[0].id is not a decimal"},
        {true, S1("{\"id\":\"1\"}"), ERR_SHAPE, "results[0].properties is missing"},
        {true, S1("{\"id\":\"1\",\"properties\":[]}"), ERR_SHAPE,
         "results[0].properties is not an object"},
        {true, S1("{\"id\":\"1\",\"properties\":null}"), ERR_SHAPE,
         "results[0].properties is not an object"},
        {true, S1("{\"id\":\"1\",\"properties\":{\"lastmodifieddate\":5}}"), ERR_SHAPE,
         "results[0].properties.lastmodifieddate is not an ISO-8601 time"},
        {true, S1("{\"id\":\"1\",\"properties\":{\"lastmodifieddate\":\"yesterday\"}}"), ERR_SHAPE,
         "properties.lastmodifieddate is not an ISO-8601 time"},
        {true, S1("{\"id\":\"1\",\"properties\":{\"lastmodifieddate\":\"2024-02-30T00:00:00Z\"}}"),
         ERR_SHAPE, "is not an ISO-8601 time"},
        {true, S1("{\"id\":\"1\",\"properties\":{\"lastmodifieddate\":\"\"}}"), ERR_SHAPE,
         "is not an ISO-8601 time"},
        {true, S1("{\"id\":\"1\",\"properties\":{},\"archived\":\"false\"}"), ERR_SHAPE,
         "results[0].archived is not a boolean"},
        {true, S1("{\"id\":\"1\",\"properties\":{},\"archived\":null}"), ERR_SHAPE,
         "results[0].archived is not a boolean"},
        {true, S1("{\"id\":\"1\",\"properties\":{},\"archivedAt\":5}"), ERR_SHAPE,
         "results[0].archivedAt is not an ISO-8601 time"},
        {true, "{\"total\":1,\"results\":[],\"paging\":5}", ERR_SHAPE, "paging is not an object"},
        {true, "{\"total\":1,\"results\":[],\"paging\":{\"next\":[]}}", ERR_SHAPE,
         "paging.next is not an object"},
        {true, "{\"total\":1,\"results\":[],\"paging\":{\"next\":{}}}", ERR_SHAPE,
         "paging.next.after is missing"},
        {true, "{\"total\":1,\"results\":[],\"paging\":{\"next\":{\"after\":true}}}", ERR_SHAPE,
         "paging.next.after is not a string"},
        {true, "{\"total\":1,\"results\":[],\"paging\":{\"next\":{\"after\":\"\"}}}", ERR_SHAPE,
         "paging.next.after is empty"},
        {true, "{\"total\":1,\"results\":[],\"paging\":{\"next\":{\"after\":\"abc\"}}}", ERR_SHAPE,
         "paging.next.after \"abc\" is not a decimal offset"},
        {true, "{\"total\":1,\"results\":[],\"paging\":{\"next\":{\"after\":\"-200\"}}}", ERR_SHAPE,
         "is not a decimal offset"},
        {false, "{\"results\":[5]}", ERR_SHAPE, "object list: results[0] is not an object"},
        {false, "{\"results\":[{\"id\":\"1\",\"properties\":{},\"archivedAt\":\"x\"}]}", ERR_SHAPE,
         "object list: results[0].archivedAt is not an ISO-8601 time"},
        {false, "{\"results\":[],\"paging\":{\"next\":{\"after\":{}}}}", ERR_SHAPE,
         "object list: paging.next.after is not a string"},
        {false, "{\"total\":1}", ERR_SHAPE, "object list: results is missing"},
        {false, "{\"results\":[]", ERR_PARSE, "object list: truncated JSON"},
        {true, "", ERR_PARSE, "search response: empty body"},
    };
#undef S1
    hs_record_page page;
    hs_record_page_init(&page);
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        err_info e = {0, ""};
        const char *prop = "lastmodifieddate";
        int rc = cases[i].search ? parse_search_str(cases[i].body, prop, &page, &e)
                                 : parse_list_str(cases[i].body, prop, &page, &e);
        bool ok = rc == cases[i].code && strstr(e.ei_msg, cases[i].msg) != NULL &&
                  page.rp_count == 0 && !page.rp_has_next && !page.rp_has_total;
        CHECKF(ok, "case %zu: rc %d, message \"%s\"; want %d, \"%s\"", i, rc, e.ei_msg,
               cases[i].code, cases[i].msg);
    }
    /* A numeric next offset is accepted for search (HubSpot's SDKs send numbers). */
    err_info e = {0, ""};
    CHECK_EQ(parse_search_str("{\"total\":300,\"results\":[],\"paging\":{\"next\":{\"after\":"
                              "200}}}",
                              "x", &page, &e),
             0);
    CHECK_STR(page.rp_after, "200");
    CHECK_EQ(page.rp_next_offset, 200);
    /* An after longer than HS_PAGE_AFTER_MAX. */
    jbuf big;
    jb_init(&big);
    jb_lit(&big, "{\"results\":[],\"paging\":{\"next\":{\"after\":\"");
    for (int i = 0; i <= HS_PAGE_AFTER_MAX; i++)
        jb_char(&big, '7');
    jb_lit(&big, "\"}}}");
    CHECK_EQ(parse_list_str(jb_cstr(&big), "x", &page, &e), ERR_TOO_BIG);
    CHECK(!page.rp_has_next);
    jb_free(&big);
    CHECK_EQ(hs_parse_search("{}", 2, NULL, &page, &e), ERR_INVALID);
    CHECK_EQ(hs_parse_search("{}", 2, "x", NULL, &e), ERR_INVALID);
    hs_record_page_free(&page);
}

/* ----------------------------------------------------------- properties */

static void test_properties(void)
{
    hs_properties ps;
    hs_properties_init(&ps);
    const char **labels = NULL;
    size_t n = 0;
    err_info e = {0, ""};
    REQUIRE_EQ(hs_parse_properties(doc_properties, strlen(doc_properties), &ps, &e), 0);
    REQUIRE_EQ(ps.ps_count, 1);
    CHECK_STR(hs_property_name(&ps, 0), "amount");
    CHECK_STR(hs_property_label(&ps, 0), "Amount");
    CHECK_STR(hs_property_type(&ps, 0), "number");
    CHECK_STR(hs_property_field_type(&ps, 0), "number");
    CHECK(!hs_property_is_rollup(&ps, 0));
    static const char body[] =
        "{\"results\":["
        "{\"name\":\"a\",\"label\":\"sync_associations_companies_contacts_label_updated\"},"
        "{\"name\":\"b\",\"label\":\"Number of Associated Contacts\"},"
        "{\"name\":\"c\",\"label\":\"sync_associations_companies_contacts_label_count\"},"
        "{\"name\":\"d\",\"label\":\"sync_associations_companies_deals_label_count\"},"
        "{\"name\":\"e\",\"label\":\"sync_associations_companies_contacts_label_\"},"
        "{\"name\":\"f\",\"label\":\"sync_associations_companies_contacts_label\"},"
        "{\"name\":\"g\",\"label\":\"sync_associations_companies_contacts_label_count\"},"
        "{\"name\":\"h\",\"label\":\"sync_associations_companies_contacts_label_\\u00e4\"},"
        "{\"name\":\"i\",\"label\":\"sync_associations_companies_contacts_label_Z\"},"
        "{\"name\":\"j\",\"label\":\"Sync_associations_companies_contacts_label_x\"}"
        "]}";
    REQUIRE_EQ(hs_parse_properties(body, strlen(body), &ps, &e), 0);
    CHECK_EQ(ps.ps_count, 10);
    CHECK_STR(hs_property_name(&ps, 9), "j");
    /* No type or fieldType: both "", and not a rollup. */
    CHECK_STR(hs_property_type(&ps, 9), "");
    CHECK_STR(hs_property_field_type(&ps, 9), "");
    CHECK(!hs_property_is_rollup(&ps, 9));
    static const char prefix[] = "sync_associations_companies_contacts_label_";
    REQUIRE_EQ(hs_properties_labels_with_prefix(&ps, prefix, strlen(prefix), &labels, &n, &e), 0);
    REQUIRE_EQ(n, 6);
    /* Bytewise: "" < "Z" < "count" = "count" < "updated" < "ä". */
    CHECK_STR(labels[0], "sync_associations_companies_contacts_label_");
    CHECK_STR(labels[1], "sync_associations_companies_contacts_label_Z");
    CHECK_STR(labels[2], "sync_associations_companies_contacts_label_count");
    CHECK_STR(labels[3], "sync_associations_companies_contacts_label_count");
    CHECK_STR(labels[4], "sync_associations_companies_contacts_label_updated");
    CHECK_STR(labels[5], "sync_associations_companies_contacts_label_\xc3\xa4");
    free(labels);
    labels = NULL;
    REQUIRE_EQ(hs_properties_labels_with_prefix(&ps, "nothing", 7, &labels, &n, &e), 0);
    CHECK_EQ(n, 0);
    CHECK(labels == NULL);
    /* An empty prefix matches every label. */
    REQUIRE_EQ(hs_properties_labels_with_prefix(&ps, "", 0, &labels, &n, &e), 0);
    CHECK_EQ(n, 10);
    CHECK_STR(labels[0], "Number of Associated Contacts");
    free(labels);
    labels = NULL;
    static const struct {
        const char *body;
        const char *msg;
    } bad[] = {
        {"{}", "properties response: results is missing"},
        {"{\"results\":{}}", "results is not an array"},
        {"{\"results\":[1]}", "results[0] is not an object"},
        {"{\"results\":[{\"label\":\"x\"}]}", "results[0].name is missing"},
        {"{\"results\":[{\"name\":5,\"label\":\"x\"}]}", "results[0].name is not a string"},
        {"{\"results\":[{\"name\":\"a\",\"label\":\"x\"},{\"name\":\"b\"}]}",
         "results[1].label is missing"},
        {"{\"results\":[{\"name\":\"a\",\"label\":null}]}", "results[0].label is not a string"},
        {"{\"results\":[{\"name\":\"a\",\"label\":\"x\\u0000\"}]}",
         "results[0].label contains a NUL byte"},
        {"{\"results\":[{\"name\":\"a\",\"label\":\"x\",\"type\":5}]}",
         "results[0].type is not a string"},
        {"{\"results\":[{\"name\":\"a\",\"label\":\"x\",\"type\":null}]}",
         "results[0].type is not a string"},
        {"{\"results\":[{\"name\":\"a\",\"label\":\"x\",\"type\":[\"number\"]}]}",
         "results[0].type is not a string"},
        {"{\"results\":[{\"name\":\"a\",\"label\":\"x\",\"type\":\"num\\u0000ber\"}]}",
         "results[0].type contains a NUL byte"},
        {"{\"results\":[{\"name\":\"a\",\"label\":\"x\"},"
         "{\"name\":\"b\",\"label\":\"y\",\"fieldType\":true}]}",
         "results[1].fieldType is not a string"},
        {"{\"results\":[{\"name\":\"a\",\"label\":\"x\",\"fieldType\":null}]}",
         "results[0].fieldType is not a string"},
        {"{\"results\":[{\"name\":\"a\",\"label\":\"x\",\"fieldType\":{}}]}",
         "results[0].fieldType is not a string"},
        {"{\"results\":[{\"name\":\"a\",\"label\":\"x\",\"type\":\"number\","
         "\"fieldType\":\"calculation_rollup\\u0000\"}]}",
         "results[0].fieldType contains a NUL byte"},
    };
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        int rc = hs_parse_properties(bad[i].body, strlen(bad[i].body), &ps, &e);
        CHECKF(rc == ERR_SHAPE && strstr(e.ei_msg, bad[i].msg) && ps.ps_count == 0,
               "bad[%zu]: rc %d \"%s\"", i, rc, e.ei_msg);
    }
    CHECK_EQ(hs_properties_labels_with_prefix(&ps, "x", 1, NULL, &n, &e), ERR_INVALID);
done:
    free(labels);
    hs_properties_free(&ps);
}

/* type and fieldType, and which pairs of them make a rollup property. */
static void test_properties_rollups(void)
{
    hs_properties ps;
    hs_properties_init(&ps);
    err_info e = {0, ""};
    static const char body[] =
        "{\"results\":["
        "{\"name\":\"r\",\"label\":\"L\",\"type\":\"number\",\"fieldType\":"
        "\"calculation_rollup\",\"calculated\":true},"
        /* A rollup whatever `calculated` says (HubSpot leaves it false). */
        "{\"fieldType\":\"calculation_rollup\",\"calculated\":false,\"label\":\"L\","
        "\"type\":\"number\",\"name\":\"r2\"},"
        /* HubSpot's own counter: number/number, calculated. */
        "{\"name\":\"num_associated_contacts\",\"label\":\"L\",\"type\":\"number\","
        "\"fieldType\":\"number\",\"calculated\":true},"
        "{\"name\":\"s\",\"label\":\"L\",\"type\":\"string\",\"fieldType\":"
        "\"calculation_rollup\"},"
        "{\"name\":\"t\",\"label\":\"L\",\"type\":\"number\"},"
        "{\"name\":\"u\",\"label\":\"L\",\"fieldType\":\"calculation_rollup\"},"
        "{\"name\":\"v\",\"label\":\"L\",\"type\":\"Number\",\"fieldType\":"
        "\"calculation_rollup\"},"
        "{\"name\":\"w\",\"label\":\"L\",\"type\":\"number\",\"fieldType\":"
        "\"calculation_rollup \"},"
        "{\"name\":\"x\",\"label\":\"L\",\"type\":\"\",\"fieldType\":\"\"},"
        "{\"name\":\"y\",\"label\":\"L\",\"type\":\"number\",\"fieldType\":"
        "\"calculation_equation\"}"
        "]}";
    static const struct {
        const char *name, *type, *field_type;
        bool rollup;
    } want[] = {
        {"r", "number", "calculation_rollup", true},
        {"r2", "number", "calculation_rollup", true},
        {"num_associated_contacts", "number", "number", false},
        {"s", "string", "calculation_rollup", false},
        {"t", "number", "", false},
        {"u", "", "calculation_rollup", false},
        {"v", "Number", "calculation_rollup", false},
        {"w", "number", "calculation_rollup ", false},
        {"x", "", "", false},
        {"y", "number", "calculation_equation", false},
    };
    REQUIRE_EQ(hs_parse_properties(body, strlen(body), &ps, &e), 0);
    REQUIRE_EQ(ps.ps_count, UT_COUNT(want));
    for (size_t i = 0; i < UT_COUNT(want); i++) {
        CHECK_STR(hs_property_name(&ps, i), want[i].name);
        CHECK_STR(hs_property_type(&ps, i), want[i].type);
        CHECK_STR(hs_property_field_type(&ps, i), want[i].field_type);
        CHECK_EQ(ps.ps_items[i].prop_type_len, strlen(want[i].type));
        CHECK_EQ(ps.ps_items[i].prop_field_type_len, strlen(want[i].field_type));
        CHECKF(hs_property_is_rollup(&ps, i) == want[i].rollup, "%s: is_rollup %d", want[i].name,
               (int)hs_property_is_rollup(&ps, i));
    }
    /* A failed parse after a good one leaves the list empty. */
    static const char bad[] = "{\"results\":[{\"name\":\"a\",\"label\":\"b\",\"type\":1}]}";
    CHECK_EQ(hs_parse_properties(bad, strlen(bad), &ps, &e), ERR_SHAPE);
    CHECK_EQ(ps.ps_count, 0);
    CHECK_EQ(ps.ps_strings.jb_len, 0);
done:
    hs_properties_free(&ps);
}

/* ------------------------------------------------------ association labels */

static void test_assoc_labels(void)
{
    hs_assoc_labels ls;
    hs_assoc_labels_init(&ls);
    err_info e = {0, ""};
    REQUIRE_EQ(hs_parse_assoc_labels(doc_labels, strlen(doc_labels), &ls, &e), 0);
    REQUIRE_EQ(ls.ls_count, 4);
    CHECK_EQ(ls.ls_items[0].al_category, ASSOC_HUBSPOT_DEFINED);
    CHECK_EQ(ls.ls_items[0].al_type_id, 2);
    CHECK_STR(hs_assoc_label_name(&ls, 0), "Primary");
    CHECK_EQ(ls.ls_items[1].al_type_id, 280);
    CHECK(!ls.ls_items[1].al_has_label);
    CHECK(hs_assoc_label_name(&ls, 1) == NULL);
    CHECK_EQ(ls.ls_items[2].al_category, ASSOC_USER_DEFINED);
    CHECK_EQ(ls.ls_items[2].al_type_id, 1000);
    CHECK_STR(hs_assoc_label_name(&ls, 2), "Billing contact");
    CHECK_EQ(ls.ls_items[2].al_label_len, 15);
    CHECK_EQ(ls.ls_items[3].al_category, ASSOC_INTEGRATOR_DEFINED);
    CHECK_STR(hs_assoc_label_name(&ls, 3), "Synced by app");

    /* Members in any order, unknown ones ignored, an absent label is none, an
     * empty one is kept, escapes decoded, int32 limits, WORK as in batch reads;
     * the output is refilled, not appended to. */
    static const char body[] =
        "{\"paging\":{},\"results\":["
        "{\"label\":\"Caf\\u00e9 \\\"A\\\"\",\"extra\":[1,{}],\"typeId\":2147483647,"
        "\"category\":\"USER_DEFINED\"},"
        "{\"typeId\":-2147483648,\"category\":\"WORK\"},"
        "{\"category\":\"INTEGRATOR_DEFINED\",\"typeId\":0,\"label\":\"\"}"
        "]}";
    REQUIRE_EQ(hs_parse_assoc_labels(body, strlen(body), &ls, &e), 0);
    REQUIRE_EQ(ls.ls_count, 3);
    CHECK_STR(hs_assoc_label_name(&ls, 0), "Caf\xc3\xa9 \"A\"");
    CHECK_EQ(ls.ls_items[0].al_type_id, INT32_MAX);
    CHECK_EQ(ls.ls_items[1].al_category, ASSOC_WORK);
    CHECK_EQ(ls.ls_items[1].al_type_id, INT32_MIN);
    CHECK(hs_assoc_label_name(&ls, 1) == NULL);
    CHECK_STR(hs_assoc_label_name(&ls, 2), "");
    CHECK(ls.ls_items[2].al_has_label);
    REQUIRE_EQ(hs_parse_assoc_labels("{\"results\":[]}", 14, &ls, &e), 0);
    CHECK_EQ(ls.ls_count, 0);

    /* A label of exactly ASSOC_LABEL_MAX bytes is kept; one more is too big. */
    jbuf big;
    jb_init(&big);
    for (int extra = 0; extra < 2; extra++) {
        jb_reset(&big);
        jb_lit(&big, "{\"results\":[{\"category\":\"USER_DEFINED\",\"typeId\":1,\"label\":\"");
        for (int i = 0; i < ASSOC_LABEL_MAX + extra; i++)
            jb_char(&big, 'x');
        jb_lit(&big, "\"}]}");
        int rc = hs_parse_assoc_labels(big.jb_data, big.jb_len, &ls, &e);
        CHECK_EQ(rc, extra ? ERR_TOO_BIG : 0);
        CHECK_EQ(ls.ls_count, extra ? 0 : 1);
        if (extra)
            CHECK(strstr(e.ei_msg, "results[0].label is longer than 1024 bytes") != NULL);
    }
    jb_free(&big);

    static const struct {
        const char *body;
        int rc;
        const char *msg;
    } bad[] = {
        {"", ERR_PARSE, "association labels: empty body"},
        {"{\"results\":[", ERR_PARSE, "truncated JSON"},
        {"{\"results\":[],}", ERR_PARSE, "malformed JSON"},
        {"{\"results\":[]} x", ERR_PARSE, "trailing bytes"},
        {"[]", ERR_SHAPE, "the body is not a JSON object"},
        {"{}", ERR_SHAPE, "association labels: results is missing"},
        {"{\"results\":null}", ERR_SHAPE, "results is not an array"},
        {"{\"results\":{}}", ERR_SHAPE, "results is not an array"},
        {"{\"results\":[1]}", ERR_SHAPE, "results[0] is not an object"},
        {"{\"results\":[null]}", ERR_SHAPE, "results[0] is not an object"},
        {"{\"results\":[{\"typeId\":1}]}", ERR_SHAPE, "results[0].category is missing"},
        {"{\"results\":[{\"category\":null,\"typeId\":1}]}", ERR_SHAPE,
         "results[0].category is not a string"},
        {"{\"results\":[{\"category\":3,\"typeId\":1}]}", ERR_SHAPE,
         "results[0].category is not a string"},
        {"{\"results\":[{\"category\":\"user_defined\",\"typeId\":1}]}", ERR_SHAPE,
         "results[0].category \"user_defined\" is unknown"},
        {"{\"results\":[{\"category\":\"\",\"typeId\":1}]}", ERR_SHAPE,
         "results[0].category \"\" is unknown"},
        {"{\"results\":[{\"category\":\"USER_DEFINED\\u0000\",\"typeId\":1}]}", ERR_SHAPE,
         "is unknown"},
        {"{\"results\":[{\"category\":\"USER_DEFINED\"}]}", ERR_SHAPE,
         "results[0].typeId is missing"},
        {"{\"results\":[{\"category\":\"USER_DEFINED\",\"typeId\":null}]}", ERR_SHAPE,
         "results[0].typeId is not an integer"},
        {"{\"results\":[{\"category\":\"USER_DEFINED\",\"typeId\":\"1\"}]}", ERR_SHAPE,
         "results[0].typeId is not an integer"},
        {"{\"results\":[{\"category\":\"USER_DEFINED\",\"typeId\":1.5}]}", ERR_SHAPE,
         "results[0].typeId is not an integer"},
        {"{\"results\":[{\"category\":\"USER_DEFINED\",\"typeId\":1.0}]}", ERR_SHAPE,
         "results[0].typeId is not an integer"},
        {"{\"results\":[{\"category\":\"USER_DEFINED\",\"typeId\":1e3}]}", ERR_SHAPE,
         "results[0].typeId is not an integer"},
        {"{\"results\":[{\"category\":\"USER_DEFINED\",\"typeId\":2147483648}]}", ERR_SHAPE,
         "results[0].typeId is not an int32"},
        {"{\"results\":[{\"category\":\"USER_DEFINED\",\"typeId\":-2147483649}]}", ERR_SHAPE,
         "results[0].typeId is not an int32"},
        {"{\"results\":[{\"category\":\"USER_DEFINED\",\"typeId\":99999999999999999999999}]}",
         ERR_SHAPE, "results[0].typeId is not an int32"},
        {"{\"results\":[{\"category\":\"USER_DEFINED\",\"typeId\":1,\"label\":5}]}", ERR_SHAPE,
         "results[0].label is neither a string nor null"},
        {"{\"results\":[{\"category\":\"USER_DEFINED\",\"typeId\":1,\"label\":false}]}", ERR_SHAPE,
         "results[0].label is neither a string nor null"},
        {"{\"results\":[{\"category\":\"USER_DEFINED\",\"typeId\":1,\"label\":[\"a\"]}]}",
         ERR_SHAPE, "results[0].label is neither a string nor null"},
        {"{\"results\":[{\"category\":\"USER_DEFINED\",\"typeId\":1,\"label\":\"a\\u0000\"}]}",
         ERR_SHAPE, "results[0].label contains a NUL byte"},
        {"{\"results\":[{\"category\":\"USER_DEFINED\",\"typeId\":1,\"label\":\"a\"},"
         "{\"category\":\"USER_DEFINED\",\"typeId\":2,\"label\":{}}]}",
         ERR_SHAPE, "results[1].label is neither a string nor null"},
    };
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        /* Each after a good parse: a failure must leave the output empty. */
        REQUIRE_EQ(hs_parse_assoc_labels(doc_labels, strlen(doc_labels), &ls, &e), 0);
        e.ei_msg[0] = '\0';
        int rc = hs_parse_assoc_labels(bad[i].body, strlen(bad[i].body), &ls, &e);
        CHECKF(rc == bad[i].rc && strstr(e.ei_msg, bad[i].msg) && ls.ls_count == 0 &&
                   ls.ls_strings.jb_len == 0,
               "bad[%zu]: rc %d \"%s\"", i, rc, e.ei_msg);
    }
    /* A NUL byte inside the body is malformed JSON, not its end. */
    CHECK_EQ(hs_parse_assoc_labels("{\"results\":[]}\0", 15, &ls, &e), ERR_PARSE);
    CHECK_EQ(hs_parse_assoc_labels(NULL, 1, &ls, &e), ERR_INVALID);
    CHECK_EQ(hs_parse_assoc_labels("{}", 2, NULL, &e), ERR_INVALID);
    CHECK_EQ(hs_parse_assoc_labels(NULL, 0, &ls, NULL), ERR_PARSE);
done:
    hs_assoc_labels_free(&ls);
}

/* ---------------------------------------------------------------- token */

static void test_token(void)
{
    hs_token t;
    err_info e = {0, ""};
    REQUIRE_EQ(hs_parse_token(doc_token_ascii, strlen(doc_token_ascii), &t, &e), 0);
    CHECK_STR(t.tok_access, "CIrToaiiMhIHAAEAQAAAARiO1ooBIOP0sgE");
    CHECK_EQ(t.tok_access_len, 35);
    CHECK_STR(t.tok_refresh, "1e8fbfb1-8e96-4826-8b8d-c8af73715");
    CHECK_EQ(t.tok_expires_in_s, 1800);
    /* The doc example verbatim elides the token with "…": not a token one can
     * put in a header, so it is refused rather than sent. */
    static const char doc_verbatim[] =
        "{\"token_type\":\"bearer\",\"refresh_token\":\"1e8fbfb1-8e96-4826-8b8d-c8af73715\",\n"
        " \"access_token\":\"CIrToaiiMhIHAAEAQAAAARiO1ooBIOP0sgE\xe2\x80\xa6\",\"expires_in\":"
        "1800}";
    CHECK_EQ(hs_parse_token(doc_verbatim, strlen(doc_verbatim), &t, &e), ERR_SHAPE);
    CHECK_STR(e.ei_msg, "token response: access_token is not printable ASCII without spaces");
    CHECK_EQ(t.tok_access_len, 0);
    /* Minimal and extended bodies. */
    static const char minimal[] = "{\"access_token\":\"pat-na1-x\",\"expires_in\":60}";
    REQUIRE_EQ(hs_parse_token(minimal, strlen(minimal), &t, &e), 0);
    CHECK_STR(t.tok_refresh, "");
    CHECK_EQ(t.tok_expires_in_s, 60);
    static const char full[] =
        "{\"token_type\":\"Bearer\",\"access_token\":\"a\",\"expires_in\":1800,\"refresh_token\":"
        "\"r\",\"token_use\":\"access_token\",\"hub_id\":62515,\"scopes\":[\"oauth\"]}";
    REQUIRE_EQ(hs_parse_token(full, strlen(full), &t, &e), 0);
    /* A 512-byte token is fine, 513 is not. */
    jbuf big;
    jb_init(&big);
    jb_lit(&big, "{\"access_token\":\"");
    for (int i = 0; i < HS_TOKEN_MAX; i++)
        jb_char(&big, 'T');
    jb_lit(&big, "\",\"expires_in\":1800}");
    CHECK_EQ(hs_parse_token(jb_cstr(&big), big.jb_len, &t, &e), 0);
    CHECK_EQ(t.tok_access_len, HS_TOKEN_MAX);
    jb_reset(&big);
    jb_lit(&big, "{\"access_token\":\"");
    for (int i = 0; i <= HS_TOKEN_MAX; i++)
        jb_char(&big, 'T');
    jb_lit(&big, "\",\"expires_in\":1800}");
    CHECK_EQ(hs_parse_token(jb_cstr(&big), big.jb_len, &t, &e), ERR_TOO_BIG);
    CHECK_STR(e.ei_msg, "token response: access_token is longer than 512 bytes");
    jb_free(&big);
    static const struct {
        const char *body;
        const char *msg;
    } bad[] = {
        {"{\"expires_in\":1800}", "access_token is missing"},
        {"{\"access_token\":5,\"expires_in\":1800}", "access_token is not a string"},
        {"{\"access_token\":null,\"expires_in\":1800}", "access_token is not a string"},
        {"{\"access_token\":\"\",\"expires_in\":1800}", "access_token is empty"},
        {"{\"access_token\":\"a b\",\"expires_in\":1800}", "access_token is not printable"},
        {"{\"access_token\":\"a\\r\\nX-Evil: 1\",\"expires_in\":1800}",
         "access_token is not printable"},
        {"{\"access_token\":\"a\"}", "expires_in is missing"},
        {"{\"access_token\":\"a\",\"expires_in\":\"1800\"}", "expires_in is not a positive"},
        {"{\"access_token\":\"a\",\"expires_in\":0}", "expires_in is not a positive"},
        {"{\"access_token\":\"a\",\"expires_in\":-5}", "expires_in is not a positive"},
        {"{\"access_token\":\"a\",\"expires_in\":1.5}", "expires_in is not a positive"},
        {"{\"access_token\":\"a\",\"expires_in\":1800,\"refresh_token\":5}",
         "refresh_token is not a string"},
        {"{\"access_token\":\"a\",\"expires_in\":1800,\"token_type\":\"mac\"}",
         "token_type is not \"bearer\""},
        {"{\"access_token\":\"a\",\"expires_in\":1800,\"token_type\":null}",
         "token_type is not \"bearer\""},
    };
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        int rc = hs_parse_token(bad[i].body, strlen(bad[i].body), &t, &e);
        CHECKF(rc == ERR_SHAPE && strstr(e.ei_msg, bad[i].msg) && t.tok_access_len == 0 &&
                   t.tok_access[0] == '\0',
               "bad[%zu]: rc %d \"%s\"", i, rc, e.ei_msg);
    }
    CHECK_EQ(hs_parse_token("{\"access_token\":", 16, &t, &e), ERR_PARSE);
done:
    return;
}

/* ---------------------------------------------------------- error bodies */

static void parse_err_str(const char *body, hs_error_body *eb)
{
    size_t n = strlen(body);
    char *copy = exact_copy(body, n);
    hs_parse_error(copy, n, eb);
    free(copy);
}

static void test_error_docs(void)
{
    hs_error_body eb;
    /* §6.4 standard body. */
    parse_err_str(
        "{\"status\":\"error\",\"message\":\"This will be a human readable message with details "
        "about the error.\",\n"
        " \"errors\":[{\"message\":\"discount was not a valid number\",\"code\":"
        "\"INVALID_INTEGER\",\"context\":{\"propertyName\":[\"discount\"]}}],\n"
        " \"category\":\"VALIDATION_ERROR\",\"correlationId\":"
        "\"a43683b0-5717-4ceb-80b4-104d02915d8c\"}",
        &eb);
    CHECK(eb.eb_is_json);
    CHECK_STR(eb.eb_status, "error");
    CHECK_STR(eb.eb_message, "This will be a human readable message with details about the error.");
    CHECK_STR(eb.eb_category, "VALIDATION_ERROR");
    CHECK_STR(eb.eb_correlation_id, "a43683b0-5717-4ceb-80b4-104d02915d8c");
    CHECK_STR(eb.eb_sub_category, "");
    CHECK_EQ(eb.eb_policy, HS_POLICY_NONE);
    CHECK_EQ(eb.eb_auth, HS_AUTH_NONE);
    /* §6.2 official 429. */
    parse_err_str("{\"status\":\"error\",\"message\":\"You have reached your daily limit.\","
                  "\"errorType\":\"RATE_LIMIT\",\n"
                  " \"correlationId\":\"c033cdaa-2c40-4a64-ae48-b4cec88dad24\",\"policyName\":"
                  "\"DAILY\",\"requestId\":\"3d3e35b7-0dae-4b9f-a6e3-9c230cbcf8dd\"}",
                  &eb);
    CHECK_STR(eb.eb_policy_name, "DAILY");
    CHECK_STR(eb.eb_error_type, "RATE_LIMIT");
    CHECK_EQ(eb.eb_policy, HS_POLICY_DAILY);
    /* §6.4 401s. */
    parse_err_str(
        "{\"status\":\"error\",\"message\":\"The OAuth token used to make this call expired 0 "
        "second(s) ago.\",\"correlationId\":\"019cd9fe-d093-7d4f-99bc-45975fdcf7c6\",\"category\":"
        "\"EXPIRED_AUTHENTICATION\",\"context\":{\"expire time\":[\"2026-03-10T23:04:41.164Z\"]}}",
        &eb);
    CHECK_EQ(eb.eb_auth, HS_AUTH_EXPIRED);
    CHECK_EQ(eb.eb_policy, HS_POLICY_NONE);
    parse_err_str(
        "{\"status\":\"error\",\"message\":\"Authentication credentials not found. This API "
        "supports OAuth 2.0 authentication and you can find more details at "
        "https://developers.hubspot.com/docs/methods/auth/oauth-overview\",\"correlationId\":"
        "\"f0ee980f-\xe2\x80\xa6\",\"category\":\"INVALID_AUTHENTICATION\"}",
        &eb);
    CHECK_EQ(eb.eb_auth, HS_AUTH_INVALID);
    CHECK_STR(eb.eb_correlation_id, "f0ee980f-\xe2\x80\xa6");
    /* §6.4 400. */
    parse_err_str("{\"status\":\"error\",\"message\":\"Property values were not valid: "
                  "[...]\",\"correlationId\":\"8a3f6c3a-\xe2\x80\xa6\",\"errors\":[{\"message\":"
                  "\"Property \\\"testproperty\\\" does not exist\",\"code\":"
                  "\"PROPERTY_DOESNT_EXIST\",\"context\":{\"propertyName\":[\"testproperty\"]}}],"
                  "\"category\":\"VALIDATION_ERROR\"}",
                  &eb);
    CHECK(eb.eb_is_json);
    CHECK_STR(eb.eb_message, "Property values were not valid: [...]");
    /* §6.4 403 verbatim has a bare "…" in an array: not JSON, and said so. */
    parse_err_str(
        "{\"status\":\"error\",\"message\":\"This app hasn't been granted all required scopes "
        "to make this call. \xe2\x80\xa6\",\"correlationId\":\"dc49c0a8-\xe2\x80\xa6\",\"errors\":"
        "[{\"message\":\"One or more of the following scopes are required.\",\"context\":"
        "{\"requiredGranularScopes\":[\"crm.objects.deals.read\", \xe2\x80\xa6]}}],\"links\":"
        "{\"scopes\":\"https://developers.hubspot.com/scopes\"},\"category\":\"MISSING_SCOPES\"}",
        &eb);
    CHECK(!eb.eb_is_json);
    CHECK(strncmp(eb.eb_message, "not JSON: {\"status\":\"error\"", 27) == 0);
    CHECK_STR(eb.eb_category, "");
    /* §6.4 404 and §2.2 single-object no-associations body. */
    parse_err_str("{\"status\":\"error\",\"message\":\"\xe2\x80\xa6\",\"correlationId\":"
                  "\"\xe2\x80\xa6\",\"category\":\"OBJECT_NOT_FOUND\",\"context\":{\"id\":"
                  "[\"\xe2\x80\xa6\"]}}",
                  &eb);
    CHECK_STR(eb.eb_category, "OBJECT_NOT_FOUND");
    parse_err_str("{\"status\":\"error\",\"category\":\"OBJECT_NOT_FOUND\",\"subCategory\":"
                  "\"crm.associations.NO_ASSOCIATIONS_FOUND\",\"message\":\"No company is "
                  "associated with contact 1.\"}",
                  &eb);
    CHECK_STR(eb.eb_sub_category, "crm.associations.NO_ASSOCIATIONS_FOUND");
}

static void test_error_policies(void)
{
    static const struct {
        const char *body;
        hs_rate_policy policy;
    } cases[] = {
        /* The simulator's three 429 bodies. */
        {"{\"status\":\"error\",\"message\":\"You have reached your ten_secondly_rolling "
         "limit.\",\"errorType\":\"RATE_LIMIT\",\"correlationId\":\"x\",\"policyName\":"
         "\"TEN_SECONDLY_ROLLING\",\"requestId\":\"y\"}",
         HS_POLICY_TEN_SECONDLY_ROLLING},
        {"{\"status\":\"error\",\"message\":\"You have reached your secondly limit.\","
         "\"errorType\":\"RATE_LIMIT\",\"policyName\":\"SECONDLY\"}",
         HS_POLICY_SECONDLY},
        {"{\"message\":\"You have reached your daily limit.\",\"policyName\":\"DAILY\"}",
         HS_POLICY_DAILY},
        /* No policyName: the message decides, as HubSpot's SDK does. */
        {"{\"status\":\"error\",\"message\":\"You have reached your secondly limit.\"}",
         HS_POLICY_SECONDLY},
        {"{\"message\":\"You have reached your daily limit.\",\"category\":\"RATE_LIMITS\"}",
         HS_POLICY_DAILY},
        {"{\"message\":\"You have reached your ten_secondly_rolling limit.\"}",
         HS_POLICY_TEN_SECONDLY_ROLLING},
        /* Rate limited, policy unknown. */
        {"{\"message\":\"Slow down\",\"errorType\":\"RATE_LIMIT\"}", HS_POLICY_OTHER},
        {"{\"message\":\"Slow down\",\"category\":\"RATE_LIMITS\"}", HS_POLICY_OTHER},
        {"{\"policyName\":\"MINUTELY\"}", HS_POLICY_OTHER},
        {"{\"policyName\":5,\"message\":\"x\"}", HS_POLICY_NONE},
        {"{\"status\":\"error\",\"message\":\"internal error\"}", HS_POLICY_NONE},
    };
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        hs_error_body eb;
        parse_err_str(cases[i].body, &eb);
        CHECKF(eb.eb_is_json && eb.eb_policy == cases[i].policy, "case %zu: policy %d, want %d", i,
               (int)eb.eb_policy, (int)cases[i].policy);
    }
}

static void test_error_tolerant(void)
{
    hs_error_body eb;
    hs_parse_error(NULL, 0, &eb);
    CHECK(!eb.eb_is_json);
    CHECK_STR(eb.eb_message, "not JSON");
    parse_err_str("", &eb);
    CHECK_STR(eb.eb_message, "not JSON");
    parse_err_str("<html><body>502 Bad Gateway\n</body></html>", &eb);
    CHECK(!eb.eb_is_json);
    CHECK_STR(eb.eb_message, "not JSON: <html><body>502 Bad Gateway?</body></html>");
    parse_err_str("[1,2]", &eb);
    CHECK(!eb.eb_is_json);
    parse_err_str("{\"status\":\"err", &eb);
    CHECK(!eb.eb_is_json);
    /* Wrong types leave the field empty; the rest is read. */
    parse_err_str("{\"status\":5,\"message\":[\"x\"],\"category\":{},\"subCategory\":null,"
                  "\"correlationId\":true,\"policyName\":1.5,\"errorType\":\"RATE_LIMIT\"}",
                  &eb);
    CHECK(eb.eb_is_json);
    CHECK_STR(eb.eb_status, "");
    CHECK_STR(eb.eb_message, "");
    CHECK_STR(eb.eb_category, "");
    CHECK_STR(eb.eb_sub_category, "");
    CHECK_STR(eb.eb_correlation_id, "");
    CHECK_STR(eb.eb_policy_name, "");
    CHECK_STR(eb.eb_error_type, "RATE_LIMIT");
    CHECK_EQ(eb.eb_policy, HS_POLICY_OTHER);
    /* A long message is cut at a UTF-8 boundary. */
    jbuf big;
    jb_init(&big);
    jb_lit(&big, "{\"message\":\"");
    for (int i = 0; i < 300; i++)
        jb_lit(&big, "\xc3\xa4");
    jb_lit(&big, "\"}");
    parse_err_str(jb_cstr(&big), &eb);
    size_t n = strlen(eb.eb_message);
    CHECK_EQ(n, 254);
    CHECK(n >= 2 && (unsigned char)eb.eb_message[n - 2] == 0xc3 &&
          (unsigned char)eb.eb_message[n - 1] == 0xa4);
    /* A long non-JSON body is excerpted. */
    jb_reset(&big);
    for (int i = 0; i < 1000; i++)
        jb_char(&big, 'x');
    parse_err_str(jb_cstr(&big), &eb);
    CHECK(strlen(eb.eb_message) < sizeof(eb.eb_message));
    CHECK(strlen(eb.eb_message) > 80);
    jb_free(&big);
}

/* -------------------------------------------------------------- builders */

static void test_build_assoc_batch(void)
{
    jbuf b;
    jb_init(&b);
    json_object *back = NULL;
    err_info e = {0, ""};
    const hs_assoc_input brief[] = {{1, NULL, 0}, {2, "MC0x%3D", 7}};
    REQUIRE_EQ(hs_build_assoc_batch_read(&b, brief, 2, &e), 0);
    CHECK_STR(jb_cstr(&b), "{\"inputs\":[{\"id\":\"1\"},{\"id\":\"2\",\"after\":\"MC0x%3D\"}]}");
    /* §2.1's two request examples, exactly. */
    jb_reset(&b);
    const hs_assoc_input first[] = {{33451, NULL, 0}, {29851, NULL, 0}};
    REQUIRE_EQ(hs_build_assoc_batch_read(&b, first, 2, &e), 0);
    CHECK_STR(jb_cstr(&b), "{\"inputs\":[{\"id\":\"33451\"},{\"id\":\"29851\"}]}");
    jb_reset(&b);
    const hs_assoc_input paged[] = {{1001, "MC0yLTE1OTc0MDA2NTg%3D", 22},
                                    {1002, "MTAtNi0xODQ3MjAxMzg5%3D", 23}};
    REQUIRE_EQ(hs_build_assoc_batch_read(&b, paged, 2, &e), 0);
    CHECK_STR(jb_cstr(&b), "{\"inputs\":[{\"id\":\"1001\",\"after\":\"MC0yLTE1OTc0MDA2NTg%3D\"},"
                           "{\"id\":\"1002\",\"after\":\"MTAtNi0xODQ3MjAxMzg5%3D\"}]}");
    back = json_tokener_parse(jb_cstr(&b));
    REQUIRE(back != NULL);
    json_object *inputs = json_object_object_get(back, "inputs");
    CHECK_EQ(json_object_array_length(inputs), 2);
    json_object *in1 = json_object_array_get_idx(inputs, 1);
    CHECK_STR(json_object_get_string(json_object_object_get(in1, "id")), "1002");
    CHECK_STR(json_object_get_string(json_object_object_get(in1, "after")),
              "MTAtNi0xODQ3MjAxMzg5%3D");
    json_object_put(back);
    back = NULL;
    /* Appends to what is there; a failure leaves it as it was. */
    jb_reset(&b);
    jb_lit(&b, "X");
    const hs_assoc_input big[] = {{UINT64_MAX, NULL, 0}};
    REQUIRE_EQ(hs_build_assoc_batch_read(&b, big, 1, &e), 0);
    CHECK_STR(jb_cstr(&b), "X{\"inputs\":[{\"id\":\"18446744073709551615\"}]}");
    jb_reset(&b);
    jb_lit(&b, "X");
    const hs_assoc_input empty_after[] = {{1, NULL, 0}, {2, "", 0}};
    CHECK_EQ(hs_build_assoc_batch_read(&b, empty_after, 2, &e), ERR_INVALID);
    CHECK_STR(e.ei_msg, "assoc batch read request: inputs[1].after is empty");
    CHECK_EQ(hs_build_assoc_batch_read(&b, brief, 0, &e), ERR_INVALID);
    CHECK_EQ(hs_build_assoc_batch_read(NULL, brief, 1, &e), ERR_INVALID);
    CHECK_EQ(hs_build_assoc_batch_read(&b, NULL, 1, &e), ERR_INVALID);
    char long_cursor[HS_CURSOR_MAX + 1];
    memset(long_cursor, 'A', sizeof(long_cursor));
    const hs_assoc_input too_long[] = {{1, long_cursor, sizeof(long_cursor)}};
    CHECK_EQ(hs_build_assoc_batch_read(&b, too_long, 1, &e), ERR_TOO_BIG);
    CHECK_STR(jb_cstr(&b), "X");
    /* 1,000 inputs is the limit. */
    hs_assoc_input *many = calloc(HS_ASSOC_BATCH_MAX + 1, sizeof(*many));
    REQUIRE(many != NULL);
    for (size_t i = 0; i <= HS_ASSOC_BATCH_MAX; i++)
        many[i].ai_id = 5000000000ULL + i;
    CHECK_EQ(hs_build_assoc_batch_read(&b, many, HS_ASSOC_BATCH_MAX + 1, &e), ERR_TOO_BIG);
    jb_reset(&b);
    CHECK_EQ(hs_build_assoc_batch_read(&b, many, HS_ASSOC_BATCH_MAX, &e), 0);
    free(many);
    back = json_tokener_parse(jb_cstr(&b));
    REQUIRE(back != NULL);
    CHECK_EQ(json_object_array_length(json_object_object_get(back, "inputs")), HS_ASSOC_BATCH_MAX);
done:
    json_object_put(back);
    jb_free(&b);
}

static void test_build_search(void)
{
    jbuf b;
    jb_init(&b);
    json_object *back = NULL;
    err_info e = {0, ""};
    /* §3.1's typical incremental query, exactly. */
    static const char *const props[] = {"hs_lastmodifieddate", "name"};
    hs_search_query q = {
        .sq_lastmod_property = "hs_lastmodifieddate",
        .sq_from_ms = INT64_C(1700000000000),
        .sq_from_op = HS_OP_GTE,
        .sq_to_ms = INT64_C(1700000600000),
        .sq_to_op = HS_OP_LT,
        .sq_sort_property = "hs_lastmodifieddate",
        .sq_properties = props,
        .sq_nproperties = 2,
        .sq_limit = 200,
        .sq_after = 0,
    };
    REQUIRE_EQ(hs_build_search(&b, &q, &e), 0);
    CHECK_STR(jb_cstr(&b),
              "{\"filterGroups\":[{\"filters\":["
              "{\"propertyName\":\"hs_lastmodifieddate\",\"operator\":\"GTE\",\"value\":"
              "\"1700000000000\"},"
              "{\"propertyName\":\"hs_lastmodifieddate\",\"operator\":\"LT\",\"value\":"
              "\"1700000600000\"}]}],"
              "\"sorts\":[{\"propertyName\":\"hs_lastmodifieddate\",\"direction\":"
              "\"ASCENDING\"}],"
              "\"properties\":[\"hs_lastmodifieddate\",\"name\"],\"limit\":200,\"after\":\"0\"}");
    /* Draining one millisecond in ID order: GTE=LTE the same ms, hs_object_id GT x. */
    jb_reset(&b);
    static const char *const one[] = {"lastmodifieddate"};
    const hs_search_filter f[] = {{"hs_object_id", HS_OP_GT, "5434402448"}};
    hs_search_query drain = {
        .sq_lastmod_property = "lastmodifieddate",
        .sq_from_ms = INT64_C(1726061259356),
        .sq_from_op = HS_OP_GTE,
        .sq_to_ms = INT64_C(1726061259356),
        .sq_to_op = HS_OP_LTE,
        .sq_filters = f,
        .sq_nfilters = 1,
        .sq_sort_property = "hs_object_id",
        .sq_properties = one,
        .sq_nproperties = 1,
        .sq_limit = 100,
        .sq_after = 9800,
    };
    REQUIRE_EQ(hs_build_search(&b, &drain, &e), 0);
    CHECK_STR(jb_cstr(&b),
              "{\"filterGroups\":[{\"filters\":["
              "{\"propertyName\":\"lastmodifieddate\",\"operator\":\"GTE\",\"value\":"
              "\"1726061259356\"},"
              "{\"propertyName\":\"lastmodifieddate\",\"operator\":\"LTE\",\"value\":"
              "\"1726061259356\"},"
              "{\"propertyName\":\"hs_object_id\",\"operator\":\"GT\",\"value\":\"5434402448\"}"
              "]}],\"sorts\":[{\"propertyName\":\"hs_object_id\",\"direction\":\"ASCENDING\"}],"
              "\"properties\":[\"lastmodifieddate\"],\"limit\":100,\"after\":\"9800\"}");
    back = json_tokener_parse(jb_cstr(&b));
    REQUIRE(back != NULL);
    json_object *filters = json_object_object_get(
        json_object_array_get_idx(json_object_object_get(back, "filterGroups"), 0), "filters");
    CHECK_EQ(json_object_array_length(filters), 3);
    CHECK_STR(json_object_get_string(
                  json_object_object_get(json_object_array_get_idx(filters, 2), "operator")),
              "GT");
    CHECK_EQ(json_object_get_int(json_object_object_get(back, "limit")), 100);
    json_object_put(back);
    back = NULL;
    /* No sort, no properties, descending, strict bounds, escaped values. */
    jb_reset(&b);
    const hs_search_filter odd[] = {{"na\"me", HS_OP_NEQ, "a\\b\"c"},
                                    {"hs_object_id", HS_OP_LTE, "9"}};
    hs_search_query plain = {
        .sq_lastmod_property = "hs_lastmodifieddate",
        .sq_from_ms = 5,
        .sq_from_op = HS_OP_GT,
        .sq_to_ms = 6,
        .sq_to_op = HS_OP_LT,
        .sq_filters = odd,
        .sq_nfilters = 2,
        .sq_limit = 1,
    };
    REQUIRE_EQ(hs_build_search(&b, &plain, &e), 0);
    CHECK_STR(jb_cstr(&b),
              "{\"filterGroups\":[{\"filters\":["
              "{\"propertyName\":\"hs_lastmodifieddate\",\"operator\":\"GT\",\"value\":\"5\"},"
              "{\"propertyName\":\"hs_lastmodifieddate\",\"operator\":\"LT\",\"value\":\"6\"},"
              "{\"propertyName\":\"na\\\"me\",\"operator\":\"NEQ\",\"value\":\"a\\\\b\\\"c\"},"
              "{\"propertyName\":\"hs_object_id\",\"operator\":\"LTE\",\"value\":\"9\"}"
              "]}],\"limit\":1,\"after\":\"0\"}");
    back = json_tokener_parse(jb_cstr(&b));
    REQUIRE(back != NULL);
    json_object_put(back);
    back = NULL;
    jb_reset(&b);
    plain.sq_sort_property = "createdate";
    plain.sq_sort_descending = true;
    plain.sq_nfilters = 0;
    REQUIRE_EQ(hs_build_search(&b, &plain, &e), 0);
    CHECK(strstr(jb_cstr(&b), "\"sorts\":[{\"propertyName\":\"createdate\",\"direction\":"
                              "\"DESCENDING\"}]") != NULL);
    /* Refusals, each leaving the buffer as it was. */
    jb_reset(&b);
    jb_lit(&b, "keep");
    hs_search_query r = q;
    r.sq_from_op = HS_OP_LT;
    CHECK_EQ(hs_build_search(&b, &r, &e), ERR_INVALID);
    r = q;
    r.sq_to_op = HS_OP_GTE;
    CHECK_EQ(hs_build_search(&b, &r, &e), ERR_INVALID);
    r = q;
    r.sq_limit = 0;
    CHECK_EQ(hs_build_search(&b, &r, &e), ERR_INVALID);
    r.sq_limit = 201;
    CHECK_EQ(hs_build_search(&b, &r, &e), ERR_INVALID);
    r = q;
    r.sq_after = 9801;
    CHECK_EQ(hs_build_search(&b, &r, &e), ERR_INVALID);
    msg_has(&e, "beyond 10000 results");
    r.sq_after = UINT64_MAX;
    CHECK_EQ(hs_build_search(&b, &r, &e), ERR_INVALID);
    r = q;
    r.sq_lastmod_property = NULL;
    CHECK_EQ(hs_build_search(&b, &r, &e), ERR_INVALID);
    const hs_search_filter five[5] = {{"a", HS_OP_EQ, "1"},
                                      {"a", HS_OP_EQ, "1"},
                                      {"a", HS_OP_EQ, "1"},
                                      {"a", HS_OP_EQ, "1"},
                                      {"a", HS_OP_EQ, "1"}};
    r = q;
    r.sq_filters = five;
    r.sq_nfilters = 5;
    CHECK_EQ(hs_build_search(&b, &r, &e), ERR_INVALID);
    msg_has(&e, "7 filters in one group (at most 6)");
    r.sq_nfilters = 4;
    CHECK_EQ(hs_build_search(&b, &r, &e), 0);
    jb_reset(&b);
    jb_lit(&b, "keep");
    const hs_search_filter bad_op[] = {{"a", HS_OP_COUNT, "1"}};
    r.sq_filters = bad_op;
    r.sq_nfilters = 1;
    CHECK_EQ(hs_build_search(&b, &r, &e), ERR_INVALID);
    const hs_search_filter no_value[] = {{"a", HS_OP_EQ, NULL}};
    r.sq_filters = no_value;
    CHECK_EQ(hs_build_search(&b, &r, &e), ERR_INVALID);
    /* Over 3,000 characters. */
    char long_name[200];
    memset(long_name, 'p', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    const char *many[16];
    for (int i = 0; i < 16; i++)
        many[i] = long_name;
    r = q;
    r.sq_properties = many;
    r.sq_nproperties = 16;
    CHECK_EQ(hs_build_search(&b, &r, &e), ERR_TOO_BIG);
    CHECK_STR(jb_cstr(&b), "keep");
    CHECK_EQ(b.jb_len, 4);
    CHECK_STR(hs_search_op_name(HS_OP_GTE), "GTE");
    CHECK_STR(hs_search_op_name(HS_OP_COUNT), "UNKNOWN");
    /* The reference design's search: one open bound, and a page past the
     * cap sent anyway (HubSpot's 400 is its failure). */
    const char *const ref_props[] = {"hs_object_id", "lastmodifieddate"};
    hs_search_query ref = {
        .sq_lastmod_property = "lastmodifieddate",
        .sq_from_ms = 7,
        .sq_from_op = HS_OP_GT,
        .sq_no_upper = true,
        .sq_sort_property = "lastmodifieddate",
        .sq_properties = ref_props,
        .sq_nproperties = 2,
        .sq_limit = 100,
        .sq_after = 200,
    };
    jb_reset(&b);
    REQUIRE_EQ(hs_build_search(&b, &ref, &e), 0);
    CHECK_STR(jb_cstr(&b),
              "{\"filterGroups\":[{\"filters\":["
              "{\"propertyName\":\"lastmodifieddate\",\"operator\":\"GT\",\"value\":\"7\"}"
              "]}],\"sorts\":[{\"propertyName\":\"lastmodifieddate\",\"direction\":"
              "\"ASCENDING\"}],\"properties\":[\"hs_object_id\",\"lastmodifieddate\"],"
              "\"limit\":100,\"after\":\"200\"}");
    ref.sq_after = 9950;
    jb_reset(&b);
    CHECK_EQ(hs_build_search(&b, &ref, &e), ERR_INVALID);
    ref.sq_past_cap = true;
    CHECK_EQ(hs_build_search(&b, &ref, &e), 0);
    CHECK(strstr(jb_cstr(&b), "\"after\":\"9950\"") != NULL);
done:
    json_object_put(back);
    jb_free(&b);
}

static void test_build_oauth(void)
{
    jbuf b;
    jb_init(&b);
    err_info e = {0, ""};
    REQUIRE_EQ(hs_build_oauth_refresh(&b, "1e8fbfb1-8e96-4826-8b8d-c8af73715",
                                      "7933b042-0c1e-4e8f-9d2c-8d1f5b3f1f3a",
                                      "7a572d8a-69bf-44c6-9a30-6a7e5c9d6d2b", &e),
               0);
    CHECK_STR(jb_cstr(&b), "grant_type=refresh_token&refresh_token=1e8fbfb1-8e96-4826-8b8d-"
                           "c8af73715&client_id=7933b042-0c1e-4e8f-9d2c-8d1f5b3f1f3a&client_"
                           "secret=7a572d8a-69bf-44c6-9a30-6a7e5c9d6d2b");
    jb_reset(&b);
    REQUIRE_EQ(hs_build_oauth_refresh(&b, "a b&c=d/e+f%", "x~y._-z", "caf\xc3\xa9\n?#", &e), 0);
    CHECK_STR(jb_cstr(&b), "grant_type=refresh_token&refresh_token=a%20b%26c%3Dd%2Fe%2Bf%25"
                           "&client_id=x~y._-z&client_secret=caf%C3%A9%0A%3F%23");
    jb_reset(&b);
    CHECK_EQ(hs_build_oauth_refresh(&b, "", "c", "s", &e), ERR_INVALID);
    CHECK_STR(e.ei_msg, "OAuth refresh request: the refresh token is empty");
    CHECK_EQ(hs_build_oauth_refresh(&b, "r", "", "s", &e), ERR_INVALID);
    CHECK_EQ(hs_build_oauth_refresh(&b, "r", "c", "", &e), ERR_INVALID);
    CHECK_EQ(hs_build_oauth_refresh(&b, "r", NULL, "s", &e), ERR_INVALID);
    CHECK_EQ(b.jb_len, 0);
done:
    jb_free(&b);
}

/* --------------------------------------- round trips through the simulator */

static int sim_do(sim_portal *p, uint32_t page_size, const char *method, const char *path,
                  const char *body, size_t body_len, sim_response *rs)
{
    sim_route route;
    sim_route_parse(method, path, &route);
    sim_request rq = {method, path, NULL, NULL, body, body_len, false, UT_NOW_MS};
    sim_api_ctx ctx = {p, page_size};
    sim_response_init(rs);
    sim_api_handle(&ctx, &route, &rq, rs);
    return rs->rs_status;
}

static void lines_add(jbuf *lines, const assoc_buf *b, const char *table)
{
    for (size_t i = 0; i < b->ab_nparents; i++) {
        const assoc_parent *p = &b->ab_parents[i];
        const assoc_link *links = assoc_links(b, p);
        for (uint32_t j = 0; j < p->ap_nlinks; j++) {
            jb_printf(lines, "%s\t%" PRIu64 "\t%" PRIu64 "\t", table, p->ap_parent_id,
                      links[j].al_child_id);
            const assoc_type *t = assoc_types(b, &links[j]);
            for (uint32_t k = 0; k < links[j].al_ntypes; k++)
                jb_printf(lines, k ? ",%" PRId32 : "%" PRId32, t[k].at_type_id);
            jb_char(lines, '\n');
        }
    }
}

/* Reads a whole table with the builders and the parser, page by page, and
 * compares the result with the simulator's truth. */
static void test_sim_round_trip(void)
{
    sim_portal_config c;
    ut_portal_config_small(&c, 11);
    sim_portal *p = ut_portal_new(&c);
    assoc_buf page, next;
    hs_assoc_errors errs;
    jbuf req, lines;
    assoc_buf_init(&page);
    assoc_buf_init(&next);
    hs_assoc_errors_init(&errs);
    jb_init(&req);
    jb_init(&lines);
    char *truth = NULL;
    hs_assoc_input *inputs = NULL;
    sim_response rs;
    sim_response_init(&rs);
    REQUIRE(p != NULL);
    const sim_objects *companies = &p->p_obj[HS_COMPANIES];
    inputs = calloc(companies->o_count, sizeof(*inputs));
    REQUIRE(inputs != NULL);
    const uint32_t page_size = 37; /* heavy parents page many times */
    size_t requests = 0, parents_seen = 0, empty_first = 0;
    err_info e = {0, ""};
    for (uint32_t lo = 0; lo < companies->o_count; lo += HS_ASSOC_BATCH_MAX) {
        uint32_t n = companies->o_count - lo;
        if (n > HS_ASSOC_BATCH_MAX)
            n = HS_ASSOC_BATCH_MAX;
        for (uint32_t i = 0; i < n; i++)
            inputs[i] = (hs_assoc_input){companies->o_id[lo + i], NULL, 0};
        jb_reset(&req);
        REQUIRE_EQ(hs_build_assoc_batch_read(&req, inputs, n, &e), 0);
        assoc_buf_reset(&page);
        hs_assoc_errors_reset(&errs);
        sim_response_free(&rs);
        int status = sim_do(p, page_size, "POST",
                            "/crm/v4/associations/companies/contacts/"
                            "batch/read",
                            req.jb_data, req.jb_len, &rs);
        requests++;
        int rc =
            hs_parse_assoc_batch(rs.rs_body.jb_data, rs.rs_body.jb_len, status, &page, &errs, &e);
        CHECKF(rc == 0, "first page: rc %d %s", rc, e.ei_msg);
        REQUIRE(rc == 0);
        CHECK_EQ(errs.ae_nfailures, 0);
        parents_seen += page.ab_nparents;
        empty_first += errs.ae_nempty;
        lines_add(&lines, &page, "companies_contacts");
        /* Follow every parent's cursor until no page is left. */
        for (int round = 0; round < 1000; round++) {
            size_t npaged = 0;
            jb_reset(&req);
            REQUIRE_EQ(hs_build_assoc_next_pages(&req, &page, &npaged, &e), 0);
            if (npaged == 0)
                break;
            sim_response_free(&rs);
            status =
                sim_do(p, page_size, "POST", "/crm/v4/associations/companies/contacts/batch/read",
                       req.jb_data, req.jb_len, &rs);
            requests++;
            assoc_buf_reset(&next);
            hs_assoc_errors_reset(&errs);
            rc = hs_parse_assoc_batch(rs.rs_body.jb_data, rs.rs_body.jb_len, status, &next, &errs,
                                      &e);
            CHECKF(rc == 0, "later page: rc %d %s", rc, e.ei_msg);
            REQUIRE(rc == 0);
            CHECK_EQ(next.ab_nparents + errs.ae_nempty, npaged);
            lines_add(&lines, &next, "companies_contacts");
            assoc_buf tmp = page;
            page = next;
            next = tmp;
        }
    }
    CHECK_EQ(parents_seen + empty_first, companies->o_count);
    CHECK(requests > 2);
    int ti = ut_table_index(p, "companies_contacts");
    REQUIRE(ti >= 0);
    truth = ut_truth(p, &p->p_tables[ti]);
    REQUIRE(truth != NULL);
    CHECK_EQ(ut_lines_missing(truth, jb_cstr(&lines)), 0);
    CHECK_EQ(ut_lines_missing(jb_cstr(&lines), truth), 0);
    CHECK(lines.jb_len > 1000);
done:
    free(inputs);
    free(truth);
    sim_response_free(&rs);
    jb_free(&req);
    jb_free(&lines);
    assoc_buf_free(&page);
    assoc_buf_free(&next);
    hs_assoc_errors_free(&errs);
    sim_portal_destroy(p);
}

/* The simulator accepts the search body we build, and we read its answer;
 * list pages and the properties list parse too. */
static void test_sim_search_list_properties(void)
{
    sim_portal_config c;
    ut_portal_config_small(&c, 12);
    ut_portal_add_rollup(&c, "companies_contacts", true);
    sim_portal *p = ut_portal_new(&c);
    jbuf req;
    jb_init(&req);
    hs_record_page page;
    hs_record_page_init(&page);
    hs_properties ps;
    hs_properties_init(&ps);
    hs_assoc_labels al;
    hs_assoc_labels_init(&al);
    const char **labels = NULL;
    size_t nlabels = 0;
    sim_response rs;
    sim_response_init(&rs);
    err_info e = {0, ""};
    REQUIRE(p != NULL);
    /* Every contact modified up to now, 200 a page, by ID. */
    static const char *const props[] = {"lastmodifieddate"};
    hs_search_query q = {
        .sq_lastmod_property = "lastmodifieddate",
        .sq_from_ms = 0,
        .sq_from_op = HS_OP_GTE,
        .sq_to_ms = UT_NOW_MS,
        .sq_to_op = HS_OP_LTE,
        .sq_sort_property = "hs_object_id",
        .sq_properties = props,
        .sq_nproperties = 1,
        .sq_limit = 200,
    };
    REQUIRE_EQ(hs_build_search(&req, &q, &e), 0);
    int status =
        sim_do(p, 500, "POST", "/crm/v3/objects/contacts/search", req.jb_data, req.jb_len, &rs);
    CHECKF(status == 200, "search: %d %.300s", status, jb_cstr(&rs.rs_body));
    REQUIRE_EQ(
        hs_parse_search(rs.rs_body.jb_data, rs.rs_body.jb_len, "lastmodifieddate", &page, &e), 0);
    CHECK(page.rp_total > 200);
    CHECK_EQ(page.rp_count, 200);
    CHECK(page.rp_has_next);
    CHECK_EQ(page.rp_next_offset, 200);
    bool ascending = true, all_lastmod = true;
    for (size_t i = 0; i < page.rp_count; i++) {
        all_lastmod = all_lastmod && page.rp_items[i].rec_has_lastmod &&
                      page.rp_items[i].rec_lastmod_ms <= UT_NOW_MS;
        if (i)
            ascending = ascending && page.rp_items[i - 1].rec_id < page.rp_items[i].rec_id;
    }
    CHECK(ascending);
    CHECK(all_lastmod);
    CHECK_EQ(page.rp_items[0].rec_id, p->p_obj[HS_CONTACTS].o_id[0]);
    /* The object list: the first page's IDs and its cursor. */
    sim_response_free(&rs);
    status = sim_do(p, 500, "GET", "/crm/v3/objects/companies", NULL, 0, &rs);
    REQUIRE_EQ(status, 200);
    REQUIRE_EQ(hs_parse_object_list(rs.rs_body.jb_data, rs.rs_body.jb_len, "hs_lastmodifieddate",
                                    &page, &e),
               0);
    CHECK_EQ(page.rp_count, 10);
    CHECK(page.rp_has_next && page.rp_next_is_number);
    CHECK(page.rp_items[0].rec_has_lastmod);
    CHECK(!page.rp_has_total);
    /* Properties with the rollup labels. */
    sim_response_free(&rs);
    status = sim_do(p, 500, "GET", "/crm/v3/properties/companies", NULL, 0, &rs);
    REQUIRE_EQ(status, 200);
    REQUIRE_EQ(hs_parse_properties(rs.rs_body.jb_data, rs.rs_body.jb_len, &ps, &e), 0);
    static const char prefix[] = "sync_associations_companies_contacts_label_";
    REQUIRE_EQ(hs_properties_labels_with_prefix(&ps, prefix, strlen(prefix), &labels, &nlabels, &e),
               0);
    static const char *const want[] = {
        "sync_associations_companies_contacts_label_billing_contact",
        "sync_associations_companies_contacts_label_count",
        "sync_associations_companies_contacts_label_decision_maker",
        "sync_associations_companies_contacts_label_manager",
    };
    CHECK_EQ(nlabels, UT_COUNT(want));
    for (size_t i = 0; i < nlabels && i < UT_COUNT(want); i++)
        CHECK_STR(labels[i], want[i]);
    /* The simulator lists its rollup fields as HubSpot lists rollups; its
     * counters (num_associated_*) and text properties are not rollups. */
    size_t nrollups = 0;
    for (size_t i = 0; i < ps.ps_count; i++) {
        bool mine = strncmp(hs_property_label(&ps, i), prefix, strlen(prefix)) == 0;
        CHECKF(hs_property_is_rollup(&ps, i) == mine, "%s (%s/%s): is_rollup %d",
               hs_property_name(&ps, i), hs_property_type(&ps, i), hs_property_field_type(&ps, i),
               (int)hs_property_is_rollup(&ps, i));
        nrollups += hs_property_is_rollup(&ps, i);
        if (strcmp(hs_property_name(&ps, i), "num_associated_contacts") == 0) {
            CHECK_STR(hs_property_type(&ps, i), "number");
            CHECK_STR(hs_property_field_type(&ps, i), "number");
        }
    }
    CHECK_EQ(nrollups, UT_COUNT(want));
    /* The pair's labels: HubSpot's two types, then the portal's own. */
    sim_response_free(&rs);
    status = sim_do(p, 500, "GET", "/crm/v4/associations/companies/contacts/labels", NULL, 0, &rs);
    REQUIRE_EQ(status, 200);
    REQUIRE_EQ(hs_parse_assoc_labels(rs.rs_body.jb_data, rs.rs_body.jb_len, &al, &e), 0);
    size_t nuser = 0;
    for (size_t i = 0; i < al.ls_count; i++)
        if (al.ls_items[i].al_category == ASSOC_USER_DEFINED) {
            nuser++;
            CHECK(hs_assoc_label_name(&al, i) != NULL);
        }
    CHECK_EQ(nuser, (uint64_t)c.pc_labels);
    CHECK(al.ls_count == nuser + 2);
    CHECK_EQ(al.ls_items[0].al_category, ASSOC_HUBSPOT_DEFINED);
    /* A simulator error body reads as one. */
    sim_response_free(&rs);
    status = sim_do(p, 500, "POST", "/crm/v3/objects/contacts/search", "{\"limit\":500}", 13, &rs);
    CHECK_EQ(status, 400);
    hs_error_body eb;
    hs_parse_error(rs.rs_body.jb_data, rs.rs_body.jb_len, &eb);
    CHECK(eb.eb_is_json);
    CHECK_STR(eb.eb_category, "VALIDATION_ERROR");
    CHECK_STR(eb.eb_status, "error");
    CHECK_EQ(strlen(eb.eb_correlation_id), 36);
done:
    free(labels);
    sim_response_free(&rs);
    jb_free(&req);
    hs_record_page_free(&page);
    hs_properties_free(&ps);
    hs_assoc_labels_free(&al);
    sim_portal_destroy(p);
}

int unit_suite_hs_codec(void)
{
    static const ut_test tests[] = {
        {"batch read: documented 200 example", test_batch_doc_200},
        {"batch read: documented 207 NO_ASSOCIATIONS_FOUND", test_batch_doc_207},
        {"batch read: 207 with empty inputs and other failures", test_batch_207_mixed},
        {"batch read: per-result cursors kept byte-for-byte", test_batch_paging_cursors},
        {"batch read: IDs above 2^53 exact, clamped numbers refused", test_batch_big_ids},
        {"batch read: null, empty and Unicode labels", test_batch_labels},
        {"batch read: members in any order, escapes, whitespace", test_batch_member_order},
        {"batch read: duplicate links and types normalised", test_batch_duplicates_normalised},
        {"batch read: a failure rewinds the buffers", test_batch_failure_rewinds},
        {"batch read: only 200 and 207 are accepted", test_batch_http_status},
        {"batch read: wrong types in every field", test_batch_wrong_types},
        {"batch read: malformed JSON", test_batch_malformed},
        {"batch read: a raw NUL in a string", test_batch_nul_in_string},
        {"every parser: every prefix of a valid body", test_every_prefix},
        {"scanner agrees with json-c: fixed bodies and prefixes",
         test_scanner_matches_oracle_fixed},
        {"scanner agrees with json-c: random and damaged bodies",
         test_scanner_matches_oracle_random},
        {"single-record association read", test_assoc_object},
        {"search: documented example", test_search_doc},
        {"search: IDs, times, null and archived", test_search_values},
        {"object list: documented example and archived", test_list_doc_and_archived},
        {"object list: count rollups read as hints", test_list_counts},
        {"search and list: wrong types in every field", test_search_list_wrong_types},
        {"properties and labels with a prefix", test_properties},
        {"properties: type, fieldType and rollups", test_properties_rollups},
        {"association labels: good and malformed bodies", test_assoc_labels},
        {"OAuth token response", test_token},
        {"error bodies: documented examples", test_error_docs},
        {"error bodies: rate-limit policies", test_error_policies},
        {"error bodies: tolerant of anything", test_error_tolerant},
        {"build: association batch read", test_build_assoc_batch},
        {"build: search", test_build_search},
        {"build: OAuth refresh form", test_build_oauth},
        {"simulator round trip: a whole table, paged", test_sim_round_trip},
        {"simulator round trip: search, list, properties, labels", test_sim_search_list_properties},
    };
    return ut_add_suite("hs_codec", tests, UT_COUNT(tests));
}
