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
PKGS := libmicrohttpd sqlite3 libcmark-gfm jansson libsodium vips zlib libbrotlienc
CFLAGS ?= -O2 -g
WARN := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wformat=2 -Werror
CPPFLAGS += -D_GNU_SOURCE -Isrc -Ibuild/gen
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcmark-gfm-extensions -lpthread -lm

SITE ?= demo-site
LISTEN ?= 127.0.0.1:8080

SRC := $(wildcard src/*/*.c)
OBJ := $(SRC:src/%.c=build/%.o) build/gen/embedded.o
HDR := $(wildcard src/*/*.h)
EMBED := $(shell find themes/default demo src/store/schema -type f 2>/dev/null | sort)
TESTS := $(patsubst tests/unit/%.c,build/tests/%,$(wildcard tests/unit/test_*.c))

.PHONY: all run test unit deps deps-test bench lint fmt clean asan

all: build/newsroom

deps:
	@sh scripts/deps.sh build

deps-test:
	@sh scripts/deps.sh test

build/gen/embedded.c: tools/embed.sh $(EMBED)
	@mkdir -p build/gen
	sh tools/embed.sh $@ theme/=themes/default demo/=demo schema/=src/store/schema

build/gen/embedded.o: build/gen/embedded.c
	$(CC) $(CFLAGS) -std=c11 -Isrc -c $< -o $@

build/%.o: src/%.c $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(WARN) -c $< -o $@

build/newsroom: build/main.o $(OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

build/main.o: src/main.c $(HDR)
	@mkdir -p build
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(WARN) -c $< -o $@

build/tests/%: tests/unit/%.c tests/unit/check.h $(OBJ)
	@mkdir -p build/tests
	$(CC) $(CPPFLAGS) -Itests/unit $(PKG_CFLAGS) $(CFLAGS) $(WARN) \
	    -Wno-missing-prototypes -o $@ $< $(OBJ) $(PKG_LIBS)

run: deps
	@$(MAKE) --no-print-directory build/newsroom
	@if [ ! -f $(SITE)/site.conf ]; then ./build/newsroom init $(SITE) --demo; fi
	./build/newsroom serve $(SITE) --listen $(LISTEN)

unit: $(TESTS)

test: deps-test
	@$(MAKE) --no-print-directory build/newsroom unit
	@/usr/bin/python3 tests/run.py $(TESTS)

bench: deps-test build/newsroom
	sh bench/article.sh

asan:
	$(MAKE) clean
	$(MAKE) test CC=clang CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer"

lint:
	@! grep -nE '\b(strcpy|sprintf|strcat|atoi|strtok|gets)\s*\(' src/*.c src/*/*.c

fmt:
	clang-format -i src/*.c src/*/*.c src/*/*.h

clean:
	rm -rf build
