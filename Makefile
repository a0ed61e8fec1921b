# newsroom - one non-recursive Makefile.
#
#   make run    install what is missing, build, create a demo site, serve it
#   make test   install what is missing, build, run every test
#   make bench  benchmarks against nginx (see bench/)
#   make lint   banned functions; make fmt: clang-format
#
# Every C file under src/ is compiled into build/; the theme and the SQL
# migrations are embedded into the binary by tools/embed.sh.

CC ?= cc
# build folder (make asan uses build-asan)
B ?= build
PKGS := libmicrohttpd sqlite3 libpq libcrypto libcmark-gfm jansson libsodium vips zlib libbrotlienc libcurl espeak-ng libxml-2.0 yajl libarchive
CFLAGS ?= -O2 -g
# -Wno-missing-field-initializers: route rows may leave max_body out (0 is
# the default limit), like any C struct initialiser.
WARN := -std=c11 -Wall -Wextra -Wno-missing-field-initializers -Wshadow \
        -Wstrict-prototypes \
        -Wmissing-prototypes -Wformat=2 -Werror
CPPFLAGS += -D_GNU_SOURCE -Isrc -I$(B)/gen
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcmark-gfm-extensions -lmp3lame -lpthread -lm

SITE ?= demo-site
LISTEN ?= 127.0.0.1:8080

SRC := $(wildcard src/*/*.c)
OBJ := $(SRC:src/%.c=$(B)/%.o) $(B)/gen/embedded.o
HDR := $(wildcard src/*/*.h)
EMBED := $(shell find themes/default demo src/store/schema src/store/schema_pg -type f 2>/dev/null | sort)
TESTS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))

.PHONY: all run test unit deps deps-test bench lint fmt clean asan fuzz fuzz-build

all: $(B)/newsroom

deps:
	@sh scripts/deps.sh build

deps-test:
	@sh scripts/deps.sh test

$(B)/gen/embedded.c: tools/embed.sh $(EMBED)
	@mkdir -p $(B)/gen
	sh tools/embed.sh $@ theme/=themes/default demo/=demo schema/=src/store/schema \
	    schema_pg/=src/store/schema_pg

$(B)/gen/embedded.o: $(B)/gen/embedded.c
	$(CC) $(CFLAGS) -std=c11 -Isrc -c $< -o $@

$(B)/%.o: src/%.c $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(WARN) -c $< -o $@

$(B)/newsroom: $(B)/main.o $(OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/main.o: src/main.c $(HDR)
	@mkdir -p $(B)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(WARN) -c $< -o $@

$(B)/tests/%: tests/unit/%.c tests/unit/check.h $(OBJ)
	@mkdir -p $(B)/tests
	$(CC) $(CPPFLAGS) -Itests/unit $(PKG_CFLAGS) $(CFLAGS) $(WARN) \
	    -Wno-missing-prototypes -o $@ $< $(OBJ) $(PKG_LIBS)

run: deps
	@$(MAKE) --no-print-directory $(B)/newsroom
	@if [ ! -f $(SITE)/site.conf ]; then ./$(B)/newsroom init $(SITE) --demo; fi
	./$(B)/newsroom serve $(SITE) --listen $(LISTEN)

unit: $(TESTS)

test: deps-test
	@$(MAKE) --no-print-directory $(B)/newsroom unit
	@NEWSROOM_BIN=$(B)/newsroom /usr/bin/python3 tests/run.py $(TESTS)

bench: deps-test $(B)/newsroom
	BIN=$(CURDIR)/$(B)/newsroom sh bench/article.sh
	BIN=$(CURDIR)/$(B)/newsroom sh bench/cold.sh
	BIN=$(CURDIR)/$(B)/newsroom sh bench/startup.sh
	BIN=$(CURDIR)/$(B)/newsroom sh bench/publish.sh

# The whole suite under AddressSanitizer, UBSan and LeakSanitizer, in its
# own build folder so the normal build is left alone. Every process writes
# its reports to SANITIZER_LOGS (a server's leak report comes when it
# exits, after its test); tests/run.py counts each report as a failure.
SANITIZER_LOGS = $(CURDIR)/build-asan/sanitizer-logs
asan:
	@sh scripts/deps.sh asan
	@rm -rf $(SANITIZER_LOGS) && mkdir -p $(SANITIZER_LOGS)
	NEWSROOM_SANITIZER_LOGS=$(SANITIZER_LOGS) \
	ASAN_OPTIONS=log_path=$(SANITIZER_LOGS)/asan:detect_leaks=1 \
	UBSAN_OPTIONS=log_path=$(SANITIZER_LOGS)/ubsan:print_stacktrace=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	$(MAKE) test CC=clang B=build-asan \
	    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"

# libFuzzer targets (tests/fuzz, docs/fuzzing.md): every parser of outside
# input, built with clang, ASan and UBSan into FUZZ_B and run for
# FUZZ_SECONDS each. Separate from make test. A crash fails the run and
# leaves its input under FUZZ_B/crashes/.
FUZZ_SECONDS ?= 60
FUZZ_B ?= build-fuzz
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=all
FUZZ_BINS = $(patsubst tests/fuzz/fuzz_%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

fuzz:
	@command -v clang >/dev/null || sh scripts/deps.sh asan
	@$(MAKE) --no-print-directory CC=clang B=$(FUZZ_B) \
	    CFLAGS="$(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link" fuzz-build
	@bash tests/fuzz/run.sh $(FUZZ_B) $(FUZZ_SECONDS)

fuzz-build: $(FUZZ_BINS)

$(B)/fuzz/%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(OBJ)
	@mkdir -p $(B)/fuzz
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(WARN) -fsanitize=fuzzer \
	    -o $@ $< $(OBJ) $(PKG_LIBS)

lint:
	@! grep -nE '\b(strcpy|sprintf|strcat|atoi|strtok|gets)\s*\(' src/*.c src/*/*.c

fmt:
	clang-format -i src/*.c src/*/*.c src/*/*.h

clean:
	rm -rf build build-asan build-fuzz
