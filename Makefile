# Imprest gateway: build, test, demo, benchmark.
#   make test   installs missing Debian packages, builds, runs every test
#   make fuzz   libFuzzer targets of the nginx-free parsers, FUZZ_SECONDS each
#   make demo   runs the gateway on a private Redis with the demo config

SHELL      := /bin/bash
REPO       := $(CURDIR)
BUILD      := $(REPO)/build
NGX_DEV    := $(BUILD)/nginx-dev
MODULE     := $(NGX_DEV)/objs/ngx_http_imprest_module.so
NGINX      ?= /usr/sbin/nginx
CC         ?= cc
CFLAGS_CORE = -O2 -g -Wall -Wextra -Wpointer-arith -Wno-unused-parameter \
              -Werror -std=gnu99 -D_GNU_SOURCE
CORE_SRCS  := src/ngx_http_imprest_core.c src/ngx_http_imprest_schema.c
CORE_HDRS  := src/ngx_http_imprest_core.h src/ngx_http_imprest_schema.h
MODULE_SRCS := config ngx_http_imprest_module.c $(wildcard src/*.c src/*.h)

.PHONY: all deps lua-check module imprestctl unit fuzz test test-nginx asan demo bench clean check-examples install test-prometheus valgrind
.PHONY: reload-test soak http2-test fuzz-long

all: module imprestctl

deps:
	@sh tools/install-deps.sh

# Build the dynamic module against Debian's nginx-dev tree, with the
# same configure flags as the packaged nginx (binary compatibility).
$(MODULE): $(MODULE_SRCS)
	@rm -rf $(NGX_DEV) && mkdir -p $(BUILD)
	@cp -r /usr/share/nginx/src $(NGX_DEV)
	@cd $(NGX_DEV) && source ./conf_flags && \
	  ./configure "$${NGX_CONF_FLAGS[@]}" \
	    --with-cc-opt="-Werror -g" \
	    --add-dynamic-module=$(REPO) > $(BUILD)/configure.log 2>&1 \
	  || { tail -30 $(BUILD)/configure.log; exit 1; }
	@$(MAKE) -s -C $(NGX_DEV) -f objs/Makefile modules

# the Redis scripts (src/lua/) are embedded by a generated, committed
# header: a build with an edited script and a stale header is refused
lua-check:
	@tools/lua-embed.sh --check

module: deps lua-check $(MODULE)

CTL_SRCS   := $(wildcard tools/imprestctl/*.c)
CTL_HDRS   := $(wildcard tools/imprestctl/*.h) src/ngx_http_imprest_lua.h

$(BUILD)/imprestctl: $(CTL_SRCS) $(CTL_HDRS) $(CORE_SRCS) $(CORE_HDRS) \
                     src/ngx_http_imprest_oauth.c src/ngx_http_imprest_oauth.h
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_CORE) -Isrc -Itools/imprestctl -o $@ $(CTL_SRCS) \
	  $(CORE_SRCS) src/ngx_http_imprest_oauth.c -lhiredis -ljansson -lcrypto

imprestctl: deps $(BUILD)/imprestctl

$(BUILD)/unit-core: t/unit/test_core.c $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_CORE) -fsanitize=address,undefined -Isrc -o $@ \
	  t/unit/test_core.c $(CORE_SRCS) -lcrypto

OAUTH_SRCS := src/ngx_http_imprest_oauth.c
OAUTH_HDRS := src/ngx_http_imprest_oauth.h

$(BUILD)/unit-oauth: t/unit/test_oauth.c $(OAUTH_SRCS) $(OAUTH_HDRS) \
                     $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_CORE) -fsanitize=address,undefined -Isrc -o $@ \
	  t/unit/test_oauth.c $(OAUTH_SRCS) $(CORE_SRCS) -lcrypto

unit: deps $(BUILD)/unit-core $(BUILD)/unit-oauth
	$(BUILD)/unit-core
	$(BUILD)/unit-oauth

# libFuzzer targets t/fuzz/fuzz_*.c (clang), each run FUZZ_SECONDS on a
# scratch copy of its seed corpus; `make test` runs them for 2 s each.
FUZZ_SECONDS ?= 60

fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tools/fuzz.sh

# the long run: each target FUZZ_RUNS executions, logs and corpora kept
# in build/fuzz/long/
FUZZ_RUNS ?= 10000000

fuzz-long: deps
	@FUZZ_RUNS=$(FUZZ_RUNS) tools/fuzz.sh

# The README's test command: unit tests, conf examples, the Test::Nginx
# suite on a private Redis, the demo walkthrough as a smoke test, a real
# OAuth client library (e2e), a real Prometheus scraping the metrics and
# a real browser on the consent page.
test: deps module imprestctl unit
	@FUZZ_SECONDS=2 tools/fuzz.sh
	@tools/check-conf-examples.sh
	@tools/run-tests.sh
	@tools/test-demo.sh
	@t/e2e/run.sh
	@t/e2e/prometheus.sh
	@t/e2e/http2.sh
	@t/sentinel/run.sh
	@t/browser/run.sh
	@t/deb/run.sh

# a real Prometheus server scrapes imprest_metrics (also part of `make test`)
test-prometheus: deps module imprestctl
	@t/e2e/prometheus.sh

clean:
	rm -rf $(BUILD) t/servroot*

# The README's run command: the gateway on a private Redis, demo config.
demo: deps module imprestctl
	@tools/demo.sh

check-examples: module
	@tools/check-conf-examples.sh

# wrk through the gate and around it, same nginx, interleaved rounds.
bench: deps module imprestctl
	@perl tools/bench.pl

# Proof under faults and load (tools/proof/, notes-proof.md): 100
# `nginx -s reload`s under wrk, gated against plain; a million gated
# requests with each worker's RSS and Redis's connections checked flat.
reload-test: deps module imprestctl
	@tools/proof/reload-test.sh

soak: deps module imprestctl
	@tools/proof/soak.sh

# the gate, the consent page and the token endpoint over HTTP/2 (TLS),
# streams reset and connections dropped while Redis replies are pending
http2-test: deps module imprestctl
	@t/e2e/http2.sh

install: module imprestctl
	install -D -m 644 $(MODULE) /usr/lib/nginx/modules/ngx_http_imprest_module.so
	install -m 755 $(BUILD)/imprestctl /usr/local/bin/imprestctl 2>/dev/null \
	  || true

.PHONY: deb test-deb

# Debian packages in build/: libnginx-mod-http-imprest_<VERSION>_<arch>.deb
# (the module, enabled through /etc/nginx/modules-enabled) and
# imprestctl_<VERSION>_<arch>.deb; installs its build dependencies.
deb: lua-check
	@tools/deb/build.sh

# builds both packages, installs, uses, removes and purges them (as root)
test-deb:
	@t/deb/run.sh

NGX_ASAN   := $(BUILD)/nginx-asan

# nginx 1.22.1 built from the full upstream source with ASan+UBSan, the
# module built in that tree with the same flags (this also proves `config`
# works in a full source tree), then the whole suite against it.
asan: deps imprestctl
	@tools/build-nginx-src.sh $(NGX_ASAN) asan $(CURDIR)
	@eval "$$(tools/build-nginx-src.sh --env $(NGX_ASAN) | sed 's/^/export /')"; \
	  TEST_NGINX_BINARY=$(NGX_ASAN)/sbin/nginx \
	  TEST_NGINX_LOAD_MODULES=$(NGX_ASAN)/modules/ngx_http_imprest_module.so \
	  tools/run-tests.sh && \
	  NGINX=$(NGX_ASAN)/sbin/nginx \
	  IMPREST_MODULE=$(NGX_ASAN)/modules/ngx_http_imprest_module.so \
	  t/e2e/run.sh && \
	  NGINX=$(NGX_ASAN)/sbin/nginx \
	  IMPREST_MODULE=$(NGX_ASAN)/modules/ngx_http_imprest_module.so \
	  t/e2e/prometheus.sh && \
	  NGINX=$(NGX_ASAN)/sbin/nginx \
	  IMPREST_MODULE=$(NGX_ASAN)/modules/ngx_http_imprest_module.so \
	  t/e2e/http2.sh && \
	  NGINX=$(NGX_ASAN)/sbin/nginx \
	  IMPREST_MODULE=$(NGX_ASAN)/modules/ngx_http_imprest_module.so \
	  t/sentinel/run.sh && \
	  NGINX=$(NGX_ASAN)/sbin/nginx \
	  IMPREST_MODULE=$(NGX_ASAN)/modules/ngx_http_imprest_module.so \
	  t/browser/run.sh

NGX_VG     := $(BUILD)/nginx-valgrind
FILES      ?=

# nginx 1.22.1 built from source for memcheck (symbols, NGX_DEBUG_PALLOC:
# tools/build-nginx-src.sh valgrind), the module built in that tree, then
# the Test::Nginx suite (or FILES="t/010-gate-auth.t ...") with nginx under
# valgrind (TEST_NGINX_USE_VALGRIND=1, ./valgrind.suppress): a report fails
# its block.  Long (about an hour for the suite; notes-valgrind.md), not
# part of `make test`.
valgrind: deps imprestctl
	@IMPREST_EXTRA_PKGS=valgrind sh tools/install-deps.sh
	@tools/build-nginx-src.sh $(NGX_VG) valgrind $(CURDIR)
	@TEST_NGINX_USE_VALGRIND=$${TEST_NGINX_USE_VALGRIND:-1} \
	  TEST_NGINX_BINARY=$(NGX_VG)/sbin/nginx \
	  TEST_NGINX_LOAD_MODULES=$(NGX_VG)/modules/ngx_http_imprest_module.so \
	  PROVE_FLAGS="$${PROVE_FLAGS:---timer}" \
	  tools/run-tests.sh $(FILES)
