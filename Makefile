# scoped: self-hosted remote scope server for Bit.
# `make` builds build/scoped; `make check` runs every test; `make SANITIZE=1 check` does so under ASan/UBSan.

PREFIX  ?= /usr/local
SYSCONFDIR ?= $(PREFIX)/etc
DESTDIR ?=
CC      ?= cc
PKGS    := libmicrohttpd sqlite3 jansson libsodium libzstd zlib libdeflate nettle

ifeq ($(SANITIZE),1)
BUILD   := build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT     := -O1
else
BUILD   := build
SANFLAGS :=
OPT     := -O2
endif

WARN    := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
           -Wpointer-arith -Wformat=2 -Wno-format-nonliteral
CFLAGS  ?= $(OPT) -g
ALL_CFLAGS := -std=c17 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) -Icommon -Iserver \
              $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
LDFLAGS += $(SANFLAGS)

COMMON_SRC := $(wildcard common/*.c)
SERVER_SRC := $(wildcard server/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/migrations.o
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BIN        := $(BUILD)/scoped
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_REPLAY  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz-replay/%)

.PHONY: all deps run check check-build unit-test bench install clean format fuzz fuzz-build

all: $(BIN)

$(BIN): $(SERVER_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: %.c $(wildcard common/*.h server/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(COMMON_OBJ) $(LDLIBS)

# Installs only what is missing (Debian 12 package names); a no-op on a prepared machine.
deps:
	@tests/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p var
	@./$(BIN) --data ./var serve --listen 127.0.0.1:3000

# Without SANITIZE=1, check also builds the ASan/UBSan variant (build/san) and runs the unit,
# fuzz-replay and HTTP suites against it too.
check: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(FUZZ_REPLAY)
ifeq ($(SANITIZE),1)
	@SCOPED_SANITIZED=1 tests/run-all.sh $(BIN) $(BUILD)/tests
else
	@$(MAKE) --no-print-directory SANITIZE=1 check-build
	@SCOPED_SAN_BUILD=build/san tests/run-all.sh $(BIN) $(BUILD)/tests
endif

check-build: all $(UNIT_BIN) $(FUZZ_REPLAY)

# scoped against Bit's reference server and the ceiling (tests/bench/run.sh); not part of check.
bench: deps
	@$(MAKE) --no-print-directory all
	@tests/bench/run.sh $(BIN) $(BENCH_ARGS)

unit-test: $(UNIT_BIN)
	@tests/unit/run.sh $(BUILD)/tests

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/scoped/migrations \
	           $(DESTDIR)$(PREFIX)/share/scoped/systemd $(DESTDIR)$(SYSCONFDIR)/scoped
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/scoped
	install -m 0644 migrations/*.sql $(DESTDIR)$(PREFIX)/share/scoped/migrations/
	for u in systemd/scoped.service systemd/scoped.socket; do \
	  sed -e 's|/usr/local/etc|$(SYSCONFDIR)|g' -e 's|/usr/local|$(PREFIX)|g' $$u > $(DESTDIR)$(PREFIX)/share/scoped/systemd/$${u#systemd/} && \
	  chmod 0644 $(DESTDIR)$(PREFIX)/share/scoped/systemd/$${u#systemd/} || exit 1; done
	install -d $(DESTDIR)$(PREFIX)/share/doc/scoped
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/scoped/README.md
	install -m 0644 conf/scoped.conf $(DESTDIR)$(PREFIX)/share/scoped/scoped.conf.default
	@# an upgrade keeps the operator's configuration
	test -e $(DESTDIR)$(SYSCONFDIR)/scoped/scoped.conf || \
	  install -m 0644 conf/scoped.conf $(DESTDIR)$(SYSCONFDIR)/scoped/scoped.conf

format:
	clang-format -i common/*.[ch] server/*.[ch] tests/unit/*.[ch]

clean:
	rm -rf build

# The migrations are compiled into the binary, so that it never runs against SQL of another version.
$(BUILD)/gen/migrations.c: $(sort $(wildcard migrations/*.sql)) tests/gen-migrations.sh
	@mkdir -p $(dir $@)
	tests/gen-migrations.sh $(sort $(wildcard migrations/*.sql)) > $@

$(BUILD)/obj/gen/migrations.o: $(BUILD)/gen/migrations.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Fuzzing (tests/fuzz): libFuzzer harnesses built with clang, ASan and UBSan; `make fuzz` runs each
# for FUZZ_SECONDS. `make check` replays their regression inputs through the same harnesses
# built with the ordinary compiler (tests/fuzz/replay.c).
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c17 -D_GNU_SOURCE $(WARN) -O1 -g $(FUZZ_SAN) -Icommon \
                $(shell pkg-config --cflags $(PKGS) 2>/dev/null)

build/fuzz/obj/%.o: %.c $(wildcard common/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/obj/migrations.o: $(BUILD)/gen/migrations.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

build/fuzz/libcommon.a: $(COMMON_SRC:%.c=build/fuzz/obj/%.o) build/fuzz/obj/migrations.o
	@rm -f $@
	ar rcs $@ $^

build/fuzz/%: tests/fuzz/%.c build/fuzz/libcommon.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build/fuzz/libcommon.a $(LDLIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh build/fuzz

$(BUILD)/fuzz-replay/%: tests/fuzz/%.c tests/fuzz/replay.c $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(COMMON_OBJ) $(LDLIBS)
