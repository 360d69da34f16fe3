/*
 * check — the assertions every test uses, unit and integration alike: each
 * records a CUnit assertion and, when it fails, prints the values involved on
 * stderr beside CUnit's own report.
 *
 *   CHECK(cond)               the condition held
 *   CHECKF(cond, fmt, ...)    the same, printing `fmt` (printf) when it fails
 *   CHECK_OP(a, op, b)        an integer comparison (op: == != < <= > >=)
 *   CHECK_EQ(a, b)            CHECK_OP(a, ==, b)
 *   CHECK_STR(a, b)           string equality (NULL equals nothing)
 *   REQUIRE, REQUIREF, REQUIRE_EQ
 *                             the same checks, jumping to the enclosing
 *                             function's `done:` label when they fail: for
 *                             checks the rest of a test depends on
 *
 * The CHECK* macros return whether the check held. Each operand is evaluated
 * once. CHECK_OP compares the values themselves, whatever their types: an
 * unsigned operand (uint64_t, size_t, …) is compared as unsigned, a signed one
 * as signed, so UINT64_MAX is not -1 and 2^63 is above INT64_MAX.
 *
 * Tests never use CUnit's *_FATAL asserts: their longjmp would skip the
 * test's cleanup, and ASan's leak check would then fail the run.
 */
#ifndef HUBSYNC_CHECK_H
#define HUBSYNC_CHECK_H

#include <stdbool.h>
#include <stdint.h>

/* Records a CUnit assertion at file:line; when it fails, prints `cond` and
 * `fmt` (printf; NULL for none) on stderr. Returns `ok`. */
bool check_impl(bool ok, const char *file, unsigned line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* One operand of CHECK_OP: its bits as uint64_t and whether they are signed. */
typedef struct check_int {
    uint64_t ci_bits;
    bool ci_signed;
} check_int;

/* Whether integer expression `x` has an unsigned type after promotion (not
 * evaluated). */
#define CHECK_IS_UNSIGNED(x)                                                                       \
    _Generic((x) + 0, unsigned int                                                                 \
             : true, unsigned long                                                                 \
             : true, unsigned long long                                                            \
             : true, default                                                                       \
             : false)

#define CHECK_INT(x)                                                                               \
    (CHECK_IS_UNSIGNED(x) ? (check_int){(uint64_t)(x), false}                                      \
                          : (check_int){(uint64_t)(int64_t)(x), true})

bool check_op_impl(check_int a, const char *op, check_int b, const char *file, unsigned line,
                   const char *text);

bool check_str_impl(const char *a, const char *b, const char *file, unsigned line,
                    const char *a_text, const char *b_text);

#define CHECK(cond) check_impl(!!(cond), __FILE__, __LINE__, #cond, NULL)

#define CHECKF(cond, ...) check_impl(!!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)

#define CHECK_OP(a, op, b)                                                                         \
    check_op_impl(CHECK_INT(a), #op, CHECK_INT(b), __FILE__, __LINE__, #a " " #op " " #b)

#define CHECK_EQ(a, b) CHECK_OP(a, ==, b)

#define CHECK_STR(a, b) check_str_impl((a), (b), __FILE__, __LINE__, #a, #b)

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!CHECK(cond))                                                                          \
            goto done;                                                                             \
    } while (0)

#define REQUIREF(cond, ...)                                                                        \
    do {                                                                                           \
        if (!CHECKF(cond, __VA_ARGS__))                                                            \
            goto done;                                                                             \
    } while (0)

#define REQUIRE_EQ(a, b)                                                                           \
    do {                                                                                           \
        if (!CHECK_EQ(a, b))                                                                       \
            goto done;                                                                             \
    } while (0)

#endif
