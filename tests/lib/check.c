/*
 * check — the assertions every test uses (see check.h).
 */
#include "check.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

bool check_impl(bool ok, const char *file, unsigned line, const char *cond, const char *fmt, ...)
{
    /* CUnit copies the condition text into its failure record. */
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, line, cond, file, "", CU_FALSE);
    if (!ok) {
        fprintf(stderr, "\n    CHECK FAILED %s:%u: %s\n", file, line, cond);
        if (fmt) {
            va_list ap;
            va_start(ap, fmt);
            fputs("      ", stderr);
            vfprintf(stderr, fmt, ap);
            fputc('\n', stderr);
            va_end(ap);
        }
    }
    return ok;
}

/* Negative, zero or positive as a is below, equal to or above b, comparing
 * the values (a negative signed value is below every unsigned one). */
static int compare(check_int a, check_int b)
{
    bool a_neg = a.ci_signed && (int64_t)a.ci_bits < 0;
    bool b_neg = b.ci_signed && (int64_t)b.ci_bits < 0;
    if (a_neg != b_neg)
        return a_neg ? -1 : 1;
    /* Same sign: two's complement orders both negatives as their bits do. */
    return a.ci_bits < b.ci_bits ? -1 : a.ci_bits > b.ci_bits;
}

static void format_int(char *buf, size_t size, check_int v)
{
    if (v.ci_signed)
        snprintf(buf, size, "%" PRId64, (int64_t)v.ci_bits);
    else
        snprintf(buf, size, "%" PRIu64, v.ci_bits);
}

bool check_op_impl(check_int a, const char *op, check_int b, const char *file, unsigned line,
                   const char *text)
{
    int c = compare(a, b);
    bool ok = strcmp(op, "==") == 0   ? c == 0
              : strcmp(op, "!=") == 0 ? c != 0
              : strcmp(op, "<") == 0  ? c < 0
              : strcmp(op, "<=") == 0 ? c <= 0
              : strcmp(op, ">") == 0  ? c > 0
              : strcmp(op, ">=") == 0 ? c >= 0
                                      : false;
    char sa[24], sb[24];
    format_int(sa, sizeof(sa), a);
    format_int(sb, sizeof(sb), b);
    return check_impl(ok, file, line, text, "left = %s, right = %s", sa, sb);
}

bool check_str_impl(const char *a, const char *b, const char *file, unsigned line,
                    const char *a_text, const char *b_text)
{
    char cond[256];
    snprintf(cond, sizeof(cond), "%s == %s", a_text, b_text);
    bool ok = a && b && strcmp(a, b) == 0;
    /* At most 1,000 bytes of each: enough to see where a response body differs. */
    return check_impl(ok, file, line, cond, "%s = \"%.1000s\", %s = \"%.1000s\"", a_text,
                      a ? a : "(null)", b_text, b ? b : "(null)");
}
