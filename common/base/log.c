/* log — text or JSON lines on stderr (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jbuf.h"
#include "version.h"

static bool log_json;
static log_level log_min = LOG_INFO;

void log_setup(bool json, log_level min_level)
{
    log_json = json;
    log_min = min_level;
}

bool log_enabled(log_level level)
{
    return level >= log_min;
}

static void emit(log_level level, const log_fields *f, const char *msg, const char *field,
                 const char *json);

/* Formats the message and writes the line (when its level is printed). */
__attribute__((format(printf, 3, 0))) static void vlog(log_level level, const log_fields *f,
                                                       const char *fmt, va_list ap)
{
    if (level < log_min)
        return;
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    emit(level, f, msg, NULL, NULL);
}

void log_msg(log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, NULL, fmt, ap);
    va_end(ap);
}

void log_event(log_level level, const log_fields *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, f, fmt, ap);
    va_end(ap);
}

void log_json_field(log_level level, const log_fields *f, const char *field, const char *json,
                    const char *msg)
{
    if (level >= log_min)
        emit(level, f, msg, field, json);
}

/* The stable fields of one JSON line, after "msg". */
static void put_fields(jbuf *b, const log_fields *f)
{
    jb_lit(b, ",\"event\":");
    jb_str(b, f && f->lf_event ? f->lf_event : "message");
    if (!f)
        return;
    if (f->lf_table) {
        jb_lit(b, ",\"table\":");
        jb_str(b, f->lf_table);
    }
    if (f->lf_route) {
        jb_lit(b, ",\"route\":");
        jb_str(b, f->lf_route);
    }
    if (f->lf_set & LF_PARENTS)
        jb_printf(b, ",\"parents\":%llu", f->lf_parents);
    if (f->lf_set & LF_CALLS)
        jb_printf(b, ",\"calls\":%llu", f->lf_calls);
    if (f->lf_set & LF_EXIT_CODE)
        jb_printf(b, ",\"exit_code\":%d", f->lf_exit_code);
}

static void emit(log_level level, const log_fields *f, const char *msg, const char *field,
                 const char *json)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    char ts[32];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    fmt_iso8601_ms(ts, (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
    jbuf b;
    jb_init(&b);
    if (log_json) {
        jb_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"pid\":%d,\"version\":\"%s\",\"msg\":", ts,
                  names[level], (int)getpid(), hs_version());
        jb_str(&b, msg);
        put_fields(&b, f);
        if (field) {
            jb_char(&b, ',');
            jb_str(&b, field);
            jb_char(&b, ':');
            jb_raw(&b, json, strlen(json));
        }
        jb_lit(&b, "}\n");
    } else {
        jb_printf(&b, "%s %-5s %s%s%s\n", ts, names[level], msg, field ? " " : "",
                  field ? json : "");
    }
    if (jb_ok(&b) && write(STDERR_FILENO, b.jb_data, b.jb_len) < 0) {
        /* Nowhere left to report it. */
    }
    jb_free(&b);
}
