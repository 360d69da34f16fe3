/*
 * tl_internal — what testlib's files share and the tests do not call.
 */
#ifndef HUBSYNC_TL_INTERNAL_H
#define HUBSYNC_TL_INTERNAL_H

#include <stddef.h>

#include "../../common/base/jbuf.h"

/* The buffer's text as a NUL-terminated string the caller frees (never
 * NULL: "" when empty); the buffer is left empty. */
char *tl_take_string(jbuf *b, size_t *len);

#endif
