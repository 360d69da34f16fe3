# hubsync — plain Makefile (beanstalkd-style): one compiler invocation per
# object, -Werror always, a sanitizer variant built into build/asan.
#
#   make            build bin/hubsync, bin/hubspot-sim, the test runners and benchmarks,
#                   the man pages and bash completions (build/release/share)
#   make run        install missing packages, build, run the demo
#   make test       install missing packages, build, run every suite, one
#                   end-to-end scenario under valgrind memcheck, then every
#                   suite again built with -fsanitize=address,undefined
#   make check-deploy deploy/ (systemd, Kubernetes) and docs/schemas/ checked
#                   against the simulator (scripts/check-deploy.sh; part of test)
#   make check-style  clang-format check + banned-function grep (in make test)
#   make check-layout no reference outside the repository, includes by layer (in make test)
#   make check-docs docs/CLI.md's flag table is the one `hubsync help --markdown`
#                   prints from coordinator/cli.c (in make test); make docs rewrites it
#   make check-man, check-completion, check-package  the man pages and bash
#                   completions (written from the binaries' own help), make
#                   install into a scratch DESTDIR against debian/ (in make test)
#   make install    bin/hubsync, bin/hubspot-sim, their man pages and bash
#                   completions, the systemd units; PREFIX (/usr/local),
#                   DESTDIR, bindir, mandir, bashcompdir, unitdir; make uninstall
#   make test-deb   build the Debian packages from a copy of the tree, install
#                   them, try the installed programs, purge them (not in make test)
#   make fuzz       libFuzzer: every tests/fuzz target for FUZZ_SECONDS (60) each
#   make fuzz-brief the same for a few seconds each (what `make test` runs)
#   make test-slurm   install munge and Slurm if missing, then the job-array
#                   script on a one-node cluster on loopback (scripts/slurm/)
#   make clean

VARIANT ?= release
CC      ?= cc
# Parallel compiles in `make run` and `make test` (their suites run alone).
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
PKGS    := json-c libmicrohttpd libcurl cunit msgpack lmdb libpq sqlite3

ifeq ($(VARIANT),asan)
  OUT      := build/asan
  BINDIR   := build/asan/bin
  OPTFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined
else
  OUT      := build/release
  BINDIR   := bin
  OPTFLAGS := -O2 -g
endif

WARN     := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wvla
CPPFLAGS += -D_GNU_SOURCE -MMD -MP
CFLAGS   += -std=c11 $(WARN) $(OPTFLAGS)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# Each binary links only the libraries it uses: libs(PACKAGES).
libs = $(shell pkg-config --libs $(1) 2>/dev/null) -lpthread -lm
# CORE_LIBS: what common/ and the worker need; bin/hubsync adds push's targets.
CORE_LIBS   := json-c libcurl msgpack lmdb
CLIENT_LIBS := $(CORE_LIBS) libpq sqlite3
SIM_LIBS    := json-c libmicrohttpd
TEST_LIBS   := $(CORE_LIBS) cunit
LDFLAGS  += $(OPTFLAGS)

# common/ is four layers, each a static library (docs/ARCHITECTURE.md); a
# layer may use only the ones after it here, and the simulator only base.
LAYERS     := hubspot ipc store base
layer_lib   = $(OUT)/lib/libhs$(1).a
CLIENT_LAYERS := $(foreach l,$(LAYERS),$(call layer_lib,$(l)))
SIM_LAYERS := $(call layer_lib,base)
# Everything in sim/ but the HTTP glue and main() is a library the unit tests link.
SIM_SRC    := sim/sim_server.c sim/sim_main.c
SIM_LIB_SRC := $(filter-out $(SIM_SRC),$(wildcard sim/*.c))
WORKER_LIB_SRC := $(wildcard worker/*.c)
# tests/lib: the checks every test uses (check.c), and what the integration
# tests and benchmarks share besides (processes, HTTP, JSON, the runner).
CHECK_SRC  := tests/lib/check.c
TESTLIB_SRC := $(wildcard tests/lib/*.c)
UNIT_SRC   := $(wildcard tests/unit/*.c)
# The integration suites: the simulator's own (tests/sim → bin/test-sim), and
# hubsync end to end against it (tests/e2e → bin/test-e2e).
IT_SIM_SRC := $(wildcard tests/sim/*.c)
IT_E2E_SRC := $(wildcard tests/e2e/*.c)
# Each tests/bench/NAME.c is one benchmark program, bin/NAME with '_' → '-'.
BENCH_SRC  := $(wildcard tests/bench/*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,$(BINDIR)/%,$(subst _,-,$(BENCH_SRC)))

obj = $(patsubst %.c,$(OUT)/%.o,$(1))

COORD_SRC  := $(wildcard coordinator/*.c)

BINS := $(BINDIR)/hubsync $(BINDIR)/hubspot-sim $(BINDIR)/test-unit $(BINDIR)/test-sim \
        $(BINDIR)/test-e2e $(BENCH_BINS)

# hubsync(1), hubspot-sim(1) and their bash completions, written by
# scripts/cli-pages.py from what the binaries print about themselves.
SHARE_OUT   := $(OUT)/share
MAN_PAGES   := $(SHARE_OUT)/man/man1/hubsync.1 $(SHARE_OUT)/man/man1/hubspot-sim.1
COMPLETIONS := $(SHARE_OUT)/bash-completion/completions/hubsync \
               $(SHARE_OUT)/bash-completion/completions/hubspot-sim

.PHONY: all run test test-run check-deploy check-style check-layout clean deps
all: $(BINS) $(MAN_PAGES) $(COMPLETIONS)

$(OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

# The version, from one source (common/base/version.h): VERSION, plus the
# commit when built from a git checkout. The header is rewritten only when
# the string changes, so a commit rebuilds one object.
VERSION_STRING := $(shell cat VERSION)$(shell git rev-parse --short HEAD >/dev/null 2>&1 && \
    echo "+g$$(git rev-parse --short HEAD)$$(git diff --quiet HEAD -- 2>/dev/null || echo .dirty)")
VERSION_H := $(OUT)/gen/version_string.h
VERSION_LINE := \#define HS_VERSION_STRING "$(VERSION_STRING)"
$(shell mkdir -p $(OUT)/gen && (echo '$(VERSION_LINE)' | cmp -s - $(VERSION_H) || \
    echo '$(VERSION_LINE)' > $(VERSION_H)))
$(OUT)/common/base/version.o: common/base/version.c $(VERSION_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -I$(OUT)/gen $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

# layer_rule(layer): common/LAYER/*.c archived into libhsLAYER.a.
define layer_rule
$(call layer_lib,$(1)): $$(call obj,$$(wildcard common/$(1)/*.c))
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach l,$(LAYERS),$(eval $(call layer_rule,$(l))))

# The objects first, then the layers' archives from the highest to base.
link = $(CC) $(LDFLAGS) $(filter %.o,$^) $(filter %.a,$^) -o $@ $(call libs,$(1))

$(BINDIR)/hubspot-sim: $(call obj,$(SIM_LIB_SRC) $(SIM_SRC)) $(SIM_LAYERS)
	@mkdir -p $(dir $@)
	$(call link,$(SIM_LIBS))

$(BINDIR)/hubsync: $(call obj,$(WORKER_LIB_SRC) $(COORD_SRC)) $(CLIENT_LAYERS)
	@mkdir -p $(dir $@)
	$(call link,$(CLIENT_LIBS))

# The coordinator parts the unit tests link: the pure ones, and the planners
# (scan.c, listing.c, changes.c) on a fake run context (tests/unit/fake_run.c).
UNIT_COORD_SRC := coordinator/cli.c coordinator/config.c coordinator/conffile.c coordinator/progress.c coordinator/labels.c coordinator/order.c coordinator/rollup.c coordinator/route.c coordinator/scan.c coordinator/scanmap.c coordinator/listing.c \
                  coordinator/changes.c coordinator/refdesign.c

$(BINDIR)/test-unit: $(call obj,$(SIM_LIB_SRC) $(UNIT_SRC) $(CHECK_SRC) $(UNIT_COORD_SRC)) $(CLIENT_LAYERS)
	@mkdir -p $(dir $@)
	$(call link,$(TEST_LIBS) $(SIM_LIBS))

# The simulator's suites need only common/base (as the simulator itself).
$(BINDIR)/test-sim: $(call obj,$(TESTLIB_SRC) $(IT_SIM_SRC)) $(SIM_LAYERS)
	@mkdir -p $(dir $@)
	$(call link,json-c libcurl cunit)

# it_config reads the flag table (coordinator/cli.c) to cover every flag.
$(BINDIR)/test-e2e: $(call obj,$(TESTLIB_SRC) $(IT_E2E_SRC) coordinator/cli.c) $(CLIENT_LAYERS)
	@mkdir -p $(dir $@)
	$(call link,$(TEST_LIBS))

# bench_rule(binary, source): a benchmark links the test library and common/.
define bench_rule
$(1): $$(call obj,$$(TESTLIB_SRC) $(2)) $$(CLIENT_LAYERS)
	@mkdir -p $$(dir $$@)
	$$(call link,$$(TEST_LIBS))
endef
$(foreach src,$(BENCH_SRC),$(eval $(call bench_rule,$(BINDIR)/$(subst _,-,$(notdir $(src:.c=))),$(src))))

-include $(shell find build -name '*.d' 2>/dev/null)

deps:
	@scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(BINDIR)/hubspot-sim $(BINDIR)/hubsync
	@HUBSPOT_SIM=$(BINDIR)/hubspot-sim HUBSYNC=$(BINDIR)/hubsync scripts/demo.sh

# The suites of one variant: unit tests, then the simulator driven over HTTP,
# then hubsync end to end against it.
IT_ENV = HUBSPOT_SIM=$(BINDIR)/hubspot-sim HUBSYNC=$(BINDIR)/hubsync \
         $(if $(IT_QUICK),IT_QUICK=$(IT_QUICK))
test-run: all
	$(BINDIR)/test-unit
	$(IT_ENV) $(BINDIR)/test-sim
	$(IT_ENV) $(BINDIR)/test-e2e

# Each step of `make test` is announced with the time, so a slow CI run
# shows where its minutes went. The builds use every CPU (a plain `make
# test` would compile one file at a time: minutes of CI); the suites run
# after them, never beside a compile that would slow what they time.
step = @echo "== $$(date +%T) make test: $(1)"
test: deps
	$(call step,check-style check-layout)
	@$(MAKE) --no-print-directory check-style
	@$(MAKE) --no-print-directory check-layout
	$(call step,build and run the suites)
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@$(MAKE) --no-print-directory test-run
	$(call step,docs and man pages and completion and package and deploy checks)
	@$(MAKE) --no-print-directory check-docs
	@$(MAKE) --no-print-directory check-man check-completion check-package
	@$(MAKE) --no-print-directory check-deploy
	$(call step,valgrind)
	@scripts/valgrind-check.sh
	$(call step,fuzz-brief)
	@$(MAKE) --no-print-directory -j$(JOBS) fuzz-build
	@$(MAKE) --no-print-directory fuzz-brief
	$(call step,ASan/UBSan build and suites)
	@$(MAKE) --no-print-directory -j$(JOBS) VARIANT=asan all
	@$(MAKE) --no-print-directory VARIANT=asan IT_QUICK=1 test-run
	$(call step,done)

# ---- fuzzing ---------------------------------------------------------------
# libFuzzer targets, one per tests/fuzz/fuzz_NAME.c → build/fuzz/fuzz_NAME,
# built by clang (gcc has no libFuzzer) into build/fuzz/obj, never mixed with
# gcc's objects. Each target links only the modules it exercises
# (fuzz_mods_NAME). scripts/fuzz.sh makes the seeds (scripts/fuzz-seeds.sh:
# real simulator responses, and the seed writer's msgpack records) and runs
# every target; crashes land in build/fuzz/crashes/.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BRIEF_SECONDS ?= 3
FUZZ_DIR     := build/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -I$(OUT)/gen -std=c11 $(WARN) -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
                -fsanitize=fuzzer-no-link
FUZZ_CODEC   := common/hubspot/hs_codec.c common/store/assoc.c common/base/jbuf.c common/base/err.c
FUZZ_STORE   := common/store/store.c common/store/feed.c common/base/version.c common/store/lmdb_check.c common/base/mpread.c common/base/hs_types.c \
                common/store/assoc.c common/base/jbuf.c common/base/err.c
fuzz_mods_assoc_batch  := $(FUZZ_CODEC) common/ipc/wire.c common/base/mpread.c
fuzz_mods_assoc_object := $(FUZZ_CODEC)
fuzz_mods_search       := $(FUZZ_CODEC)
fuzz_mods_object_list  := $(FUZZ_CODEC) common/ipc/wire.c common/base/mpread.c
fuzz_mods_properties   := $(FUZZ_CODEC)
fuzz_mods_token        := $(FUZZ_CODEC)
fuzz_mods_error        := $(FUZZ_CODEC)
fuzz_mods_wire         := common/ipc/wire.c common/base/mpread.c common/store/assoc.c common/base/jbuf.c common/base/err.c
fuzz_mods_state        := $(FUZZ_STORE)
fuzz_mods_schema       := $(FUZZ_STORE)
fuzz_mods_cursor       := common/base/jbuf.c sim/sim_cursor.c
fuzz_mods_flags        := coordinator/config.c coordinator/conffile.c coordinator/cli.c common/base/version.c common/base/url.c common/base/rate_spec.c common/base/hs_types.c \
                          common/base/jbuf.c common/base/err.c common/base/log.c
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_TARGETS)) $(FUZZ_DIR)/seed-writer
fuzz_obj = $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(1))

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) $(PKG_CFLAGS) -c $< -o $@

define fuzz_rule
$(FUZZ_DIR)/fuzz_$(1): $$(call fuzz_obj,tests/fuzz/fuzz_$(1).c $$(fuzz_mods_$(1)))
	$$(FUZZ_CC) -fsanitize=fuzzer $$(FUZZ_SAN) $$^ -o $$@ $$(call libs,$$(CORE_LIBS))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))

# Turns captured responses into msgpack seeds with the real encoders.
$(FUZZ_DIR)/seed-writer: $(call fuzz_obj,tests/fuzz/seed_writer.c $(FUZZ_STORE) common/hubspot/hs_codec.c common/ipc/wire.c)
	$(FUZZ_CC) $(FUZZ_SAN) $^ -o $@ $(call libs,$(CORE_LIBS))

.PHONY: fuzz fuzz-brief fuzz-build
fuzz-build: $(FUZZ_BINS) $(BINDIR)/hubspot-sim

fuzz: fuzz-build
	@FUZZ_DIR=$(FUZZ_DIR) HUBSPOT_SIM=$(BINDIR)/hubspot-sim scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-brief: fuzz-build
	@FUZZ_DIR=$(FUZZ_DIR) HUBSPOT_SIM=$(BINDIR)/hubspot-sim scripts/fuzz.sh $(FUZZ_BRIEF_SECONDS) $(FUZZ_TARGETS)

# docs/CLI.md's flag table is printed from the flag table (coordinator/cli.c).
.PHONY: docs check-docs
docs: $(BINDIR)/hubsync
	@scripts/flag-docs.sh write $(BINDIR)/hubsync

check-docs: $(BINDIR)/hubsync
	@scripts/flag-docs.sh check $(BINDIR)/hubsync

# ---- man pages, bash completion, install, the Debian packages -------------
# cli_page(MODE, BINARY): what scripts/cli-pages.py MODE writes from BINARY.
cli_page = @mkdir -p $(dir $@) && echo "cli-pages.py $(1) $(2) > $@" && \
           scripts/cli-pages.py $(1) $(2) >$@.tmp && mv $@.tmp $@
$(SHARE_OUT)/man/man1/hubsync.1: $(BINDIR)/hubsync scripts/cli-pages.py
	$(call cli_page,man,$<)
$(SHARE_OUT)/man/man1/hubspot-sim.1: $(BINDIR)/hubspot-sim scripts/cli-pages.py VERSION
	$(call cli_page,sim-man,$<)
$(SHARE_OUT)/bash-completion/completions/hubsync: $(BINDIR)/hubsync scripts/cli-pages.py
	$(call cli_page,completion,$<)
$(SHARE_OUT)/bash-completion/completions/hubspot-sim: $(BINDIR)/hubspot-sim scripts/cli-pages.py
	$(call cli_page,sim-completion,$<)

.PHONY: programs install uninstall check-man check-completion check-package test-deb check-package
# What make install installs, and only that (debian/rules builds this).
programs: $(BINDIR)/hubsync $(BINDIR)/hubspot-sim $(MAN_PAGES) $(COMPLETIONS)

check-man: $(BINDIR)/hubsync $(BINDIR)/hubspot-sim $(MAN_PAGES)
	@scripts/check-man.sh $(BINDIR)/hubsync $(BINDIR)/hubspot-sim $(MAN_PAGES)

check-completion: $(BINDIR)/hubsync $(COMPLETIONS)
	@scripts/check-completion.sh $(BINDIR)/hubsync $(COMPLETIONS)

check-package: programs
	@scripts/check-package.sh

# GNU's installation directories (lower case; BINDIR above is where the build
# puts the binaries). The workers are the coordinator forked, not a program
# of their own: bin/hubsync is the whole client.
PREFIX      ?= /usr/local
prefix      ?= $(PREFIX)
exec_prefix ?= $(prefix)
bindir      ?= $(exec_prefix)/bin
datarootdir ?= $(prefix)/share
mandir      ?= $(datarootdir)/man
man1dir     ?= $(mandir)/man1
bashcompdir ?= $(datarootdir)/bash-completion/completions
unitdir     ?= $(prefix)/lib/systemd/system
INSTALL     ?= install
INSTALLED_UNIT := $(DESTDIR)$(unitdir)/hubsync@.service

# The unit's ExecStart and ExecStartPre run $(bindir)/hubsync: the path is
# written in as the unit is installed, and checked.
install: programs
	$(INSTALL) -d $(DESTDIR)$(bindir) $(DESTDIR)$(man1dir) $(DESTDIR)$(bashcompdir) $(DESTDIR)$(unitdir)
	$(INSTALL) -m 755 $(BINDIR)/hubsync $(BINDIR)/hubspot-sim $(DESTDIR)$(bindir)/
	$(INSTALL) -m 644 $(MAN_PAGES) $(DESTDIR)$(man1dir)/
	$(INSTALL) -m 644 $(COMPLETIONS) $(DESTDIR)$(bashcompdir)/
	$(INSTALL) -m 644 deploy/systemd/hubsync@.timer $(DESTDIR)$(unitdir)/
	sed 's#/usr/local/bin/hubsync #$(bindir)/hubsync #' deploy/systemd/hubsync@.service >$(INSTALLED_UNIT)
	chmod 644 $(INSTALLED_UNIT)
	@awk -v want='$(bindir)/hubsync' '/^ExecStart/ { sub(/^[^=]*=-?/, ""); split($$0, w, " "); \
	    if (w[1] ~ /\/hubsync$$/ && w[1] != want) { print "install: " FILENAME ": " w[1]; bad = 1 } } \
	    END { exit bad }' $(INSTALLED_UNIT)

uninstall:
	rm -f $(DESTDIR)$(bindir)/hubsync $(DESTDIR)$(bindir)/hubspot-sim \
	      $(DESTDIR)$(man1dir)/hubsync.1 $(DESTDIR)$(man1dir)/hubspot-sim.1 \
	      $(DESTDIR)$(bashcompdir)/hubsync $(DESTDIR)$(bashcompdir)/hubspot-sim \
	      $(DESTDIR)$(unitdir)/hubsync@.service $(DESTDIR)$(unitdir)/hubsync@.timer

# The Debian packages (debian/), built from a copy of the tree, installed on
# this machine, their programs tried from /usr/bin against the installed
# simulator, then purged (scripts/test-deb.sh). Only this target installs
# the Debian build tools; .ci/run runs it after make test.
test-deb:
	@scripts/deps.sh debhelper dpkg-dev fakeroot build-essential
	@scripts/test-deb.sh

check-deploy: $(BINDIR)/hubsync $(BINDIR)/hubspot-sim
	HUBSPOT_SIM=$(BINDIR)/hubspot-sim HUBSYNC=$(BINDIR)/hubsync scripts/check-deploy.sh

# Slurm end to end (issue 8). Only this target installs Slurm and munge.
.PHONY: test-slurm
test-slurm:
	@scripts/deps.sh slurmctld slurmd slurm-client munge
	@$(MAKE) --no-print-directory -j$(JOBS) $(BINDIR)/hubspot-sim $(BINDIR)/hubsync
	@HUBSPOT_SIM=$(BINDIR)/hubspot-sim HUBSYNC=$(BINDIR)/hubsync scripts/slurm/test-slurm.sh

STYLE_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]')
check-style:
	@clang-format --dry-run --Werror $(STYLE_FILES)
	@! grep -nE '\b(sprintf|vsprintf|strcpy|strcat|strtok|gets|atoi)\s*\(' $(STYLE_FILES) \
	    || (echo "check-style: banned function (see docs/STYLE.md)"; exit 1)
	@echo "check-style: ok"

# No reference outside the repository; includes follow the layers.
check-layout:
	@scripts/check-layout.sh

clean:
	rm -rf build bin
