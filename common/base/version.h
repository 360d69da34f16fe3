/*
 * version — the version of this build, from one source: the VERSION file
 * (the release number), with "+g<commit>" appended when built from a git
 * checkout (and ".dirty" when it had uncommitted changes). A release
 * tarball has no .git, so its builds report VERSION alone. The Makefile
 * writes it into build/VARIANT/gen/version_string.h; this module is the one
 * place the programs read it from.
 */
#ifndef HUBSYNC_VERSION_H
#define HUBSYNC_VERSION_H

/* "0.9.0+g1a2b3c4": what --version prints, JSON outputs carry and the
 * store records. */
const char *hs_version(void);

#endif
