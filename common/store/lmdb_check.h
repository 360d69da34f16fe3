/*
 * lmdb_check — a structural check of an LMDB data file (LMDB 0.9, data
 * format version 1) made with pread(), before LMDB maps and trusts it.
 *
 * LMDB has no checksums and follows the page numbers and node offsets it
 * finds in its memory map: a data.mdb that was truncated reads past the end
 * of the file (SIGBUS), and garbage bytes in a page send it to addresses
 * outside the map (SIGSEGV) or to pages of the wrong kind. The store runs
 * this check when it opens a database, inside a read transaction so that a
 * writer in another process cannot reuse the pages being read, and refuses
 * a file that fails it (ERR_CORRUPT) instead of crashing on it.
 *
 * What is checked, from the meta page of the snapshot asked for:
 *  - the file holds every page up to the meta's last page;
 *  - every page reachable from the free-page database, the main database and
 *    every named database it lists is in range, reached once (no cycles, no
 *    page in two places), carries its own number and a header of the kind
 *    its parent says (branch, leaf, overflow), with bounds inside the page;
 *  - every node lies inside its page, keys are in ascending order, branch
 *    children are in range, all leaves are at the tree's recorded depth,
 *    overflow runs are as long as their value needs and in range;
 *  - each database's recorded branch, leaf and overflow page counts and
 *    entry count equal what the walk found;
 *  - features hubsync never uses (duplicate keys, fixed-size pages,
 *    sub-pages) are refused, and the main database holds only named
 *    databases.
 *
 * What cannot be checked: bytes inside a key or a value whose structure
 * stays valid. The store's record decoders reject what does not decode.
 */
#ifndef HUBSYNC_LMDB_CHECK_H
#define HUBSYNC_LMDB_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "../base/err.h"

typedef struct lmdb_check_info {
    uint64_t lc_txnid;     /* the snapshot checked */
    uint64_t lc_last_page; /* its last page number */
    uint32_t lc_page_size;
    uint64_t lc_pages;     /* pages reached (trees, overflow runs) */
    uint64_t lc_databases; /* named databases checked */
} lmdb_check_info;

/* Checks the data file open on `fd` as of the snapshot whose transaction ID
 * is `txnid` (0: the newest meta page). `page_size` is the page size LMDB
 * reports (0: take the meta's). `out` may be NULL.
 * Returns 0, ERR_CORRUPT (the message says what is wrong, without the file
 * name), ERR_AGAIN (no meta page holds `txnid`: a writer committed since;
 * begin a new read transaction and check again), ERR_SYS (a read failed),
 * ERR_NOMEM. */
int lmdb_check_file(int fd, uint64_t txnid, uint32_t page_size, lmdb_check_info *out, err_info *e);

#endif
