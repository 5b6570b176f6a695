# SPDX-License-Identifier: Apache-2.0
# beampush: one GNU Makefile for the library, the CLI, the mock registry and the tests.

CC      ?= cc
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/vendor-completions
B       := build
V       ?= 0
Q       := $(if $(filter 1,$(V)),,@)

PKGS      := libcurl openssl libcjson zlib libsecret-1 libdeflate libsodium
MOCK_PKGS := libmicrohttpd openssl libcjson gnutls
TEST_PKGS := cmocka

pc = $(shell pkg-config $(1) $(2) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -Isrc -MMD -MP
LDFLAGS ?=

ifeq ($(SANITIZE),1)
B       := build-san
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

LIB_CFLAGS  := $(call pc,--cflags,$(PKGS))
LIB_LIBS    := $(call pc,--libs,$(PKGS)) -lpthread
MOCK_CFLAGS := $(call pc,--cflags,$(MOCK_PKGS))
MOCK_LIBS   := $(call pc,--libs,$(MOCK_PKGS)) -lpthread
TEST_CFLAGS := $(call pc,--cflags,$(TEST_PKGS))
TEST_LIBS   := $(call pc,--libs,$(TEST_PKGS))

UTIL_SRC := $(wildcard src/util/*.c)
LIB_SRC  := $(wildcard src/lib/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)
MOCK_SRC := $(wildcard mock-registry/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
HELPER_SRC := $(wildcard tests/helpers/*.c)

UTIL_OBJ := $(UTIL_SRC:%.c=$(B)/obj/%.o)
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/obj/%.o)
MOCK_OBJ := $(MOCK_SRC:%.c=$(B)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
HELPER_BIN := $(HELPER_SRC:tests/helpers/%.c=$(B)/tests/helpers/%)

all: $(B)/beampush $(B)/libbeampush.a $(B)/mock-registry $(B)/bench/delayline

$(B)/libbeampush.a: $(LIB_OBJ) $(UTIL_OBJ)
	@mkdir -p $(@D)
	$(Q)rm -f $@
	@$(if $(Q),echo "  AR      $@")
	$(Q)ar rcs $@ $^

$(B)/beampush: $(CLI_OBJ) $(B)/libbeampush.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(B)/libbeampush.a $(LIB_LIBS)

$(B)/mock-registry: $(MOCK_OBJ) $(UTIL_OBJ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(MOCK_LIBS)

$(B)/obj/src/%.o: src/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) $(LIB_CFLAGS) -c -o $@ $<

$(B)/obj/mock-registry/%.o: mock-registry/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) $(MOCK_CFLAGS) -c -o $@ $<

$(B)/obj/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) $(LIB_CFLAGS) $(TEST_CFLAGS) -Isrc/lib -c -o $@ $<

# programs the integration tests drive (tests/helpers/), not run as unit tests
$(B)/obj/tests/helpers/%.o: tests/helpers/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) $(LIB_CFLAGS) -Isrc/lib -c -o $@ $<

$(B)/tests/helpers/%: $(B)/obj/tests/helpers/%.o $(B)/libbeampush.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(B)/libbeampush.a $(LIB_LIBS)

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(B)/libbeampush.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(B)/libbeampush.a $(LIB_LIBS) $(TEST_LIBS)

# `make check` and `make demo` work as the first command on a new machine:
# install what is missing, then build with the flags pkg-config now knows.
deps:
	@scripts/install-deps

check: deps
	@$(MAKE) --no-print-directory all unit-tests
	@B=$(B) tests/run

unit-tests: $(UNIT_BIN) $(HELPER_BIN)

demo: deps
	@$(MAKE) --no-print-directory all
	@B=$(B) scripts/demo

$(B)/bench/compress-speed: bench/compress-speed.c $(B)/libbeampush.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) $(LIB_CFLAGS) -Isrc/lib $(LDFLAGS) -o $@ $< $(B)/libbeampush.a $(LIB_LIBS)

# The delay line of bench/wan; built with everything, since tests/integration uses it too.
$(B)/bench/delayline: bench/delayline.c $(UTIL_OBJ)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(UTIL_OBJ)

# Benchmarks print figures (ratios against skopeo or gzip); they never pass or fail.
bench-compress: all $(B)/bench/compress-speed
	@B=$(B) bench/compress

bench: all
	@B=$(B) bench/push-pull

bench-archive: all
	@B=$(B) bench/archive-push

bench-run: all
	@B=$(B) bench/run

bench-daemon: all $(B)/bench/compress-speed
	@B=$(B) bench/daemon-push

bench-wan: all
	@B=$(B) bench/wan

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(B)/beampush $(DESTDIR)$(BINDIR)/beampush
	install -m 0644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 completions/beampush.bash $(DESTDIR)$(BASHCOMPDIR)/beampush
	install -m 0644 completions/_beampush $(DESTDIR)$(ZSHCOMPDIR)/_beampush

clean:
	rm -rf build build-san build-fuzz

.PHONY: all check demo deps install clean unit-tests bench bench-compress bench-archive bench-run \
	bench-daemon bench-wan
.SECONDARY:

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# Fuzzing (libFuzzer, clang): `make fuzz FUZZ_SECONDS=N` builds each tests/fuzz/fuzz_*.c
# with the library into build-fuzz/, runs it N seconds on a copy of its committed corpus
# and fails when any harness finds a crash. Not part of `make check`.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FB           := build-fuzz
FUZZ_FLAGS   := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Iinclude -Isrc \
		-Isrc/lib -MMD -MP
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES   := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
FUZZ_BIN     := $(FUZZ_NAMES:%=$(FB)/fuzz_%)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FB)/obj/%.o) $(UTIL_SRC:%.c=$(FB)/obj/%.o)

$(FB)/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(LIB_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
		-fno-sanitize-recover=undefined -g -O1 -c -o $@ $<

$(FB)/libbeampush-fuzz.a: $(FUZZ_LIB_OBJ)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(FB)/fuzz_%: $(FB)/obj/tests/fuzz/fuzz_%.o $(FB)/libbeampush-fuzz.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FB)/libbeampush-fuzz.a $(LIB_LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@fail=0; for n in $(FUZZ_NAMES); do \
		rm -rf $(FB)/corpus/$$n $(FB)/artifacts/$$n; \
		mkdir -p $(FB)/corpus/$$n $(FB)/artifacts/$$n; \
		if [ -d tests/fuzz/corpus/$$n ]; then cp -R tests/fuzz/corpus/$$n/. $(FB)/corpus/$$n/; fi; \
		echo "  FUZZ    $$n ($(FUZZ_SECONDS)s)"; \
		if ! $(FB)/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(FB)/artifacts/$$n/ $(FB)/corpus/$$n \
			>$(FB)/fuzz_$$n.log 2>&1; then \
			echo "  CRASH   $$n: see $(FB)/fuzz_$$n.log and $(FB)/artifacts/$$n/"; fail=1; \
		fi; \
		grep -h 'stat::number_of_executed_units\|Done ' $(FB)/fuzz_$$n.log | sed 's/^/          /'; \
	done; exit $$fail

.PHONY: fuzz fuzz-build

-include $(shell find $(FB)/obj -name '*.d' 2>/dev/null)
