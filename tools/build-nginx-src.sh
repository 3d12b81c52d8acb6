#!/bin/bash
# Builds nginx 1.22.1 from the full upstream source tree, optionally with
# AddressSanitizer + UndefinedBehaviorSanitizer, optionally with a dynamic
# module built in the same tree with the same flags.
#
#   tools/build-nginx-src.sh OUTDIR [asan|valgrind|plain] [MODULE_DIR]
#
# Why: Debian's nginx-dev tree has no nginx sources, so neither nginx nor
# the module can be sanitized there; and the module's `config` must also
# work with `./configure --add-dynamic-module` in a full source tree.
#
# The source comes only from Debian's package repositories: the
# `nginx_1.22.1.orig.tar.gz` of `apt-get source --download-only nginx`
# (the Debian patch files may fail to download; the orig tarball is the
# complete upstream tree), cached in build/nginx-src/ of this repository.
#
# Result (everything stays inside OUTDIR; nothing under /etc/nginx or /var):
#   OUTDIR/src/              the configured, built source tree (objs/)
#   OUTDIR/sbin/nginx        the nginx binary (prefix = OUTDIR)
#   OUTDIR/modules/*.so      the dynamic module(s), if MODULE_DIR was given
#   OUTDIR/build-logs/*.log  fetch/configure/make/install logs
#
# Re-running with the same flavour, compiler, MODULE_DIR and module
# `config` reuses the configured tree: nginx itself is not rebuilt, the
# module objects always are (so edits to its headers are picked up).
# FRESH=1 forces a fresh extract + configure.  CC=clang selects clang
# (the default is cc, i.e. gcc 12 on Debian 12).
#
# Running the ASan build needs ASAN_OPTIONS/UBSAN_OPTIONS (see print_env
# below): `tools/build-nginx-src.sh --env OUTDIR [REPORT_DIR]` prints them,
# one NAME=value a line.

set -euo pipefail

NGX_VERSION=1.22.1
ORIG=nginx_${NGX_VERSION}.orig.tar.gz

die() { echo "build-nginx-src: $*" >&2; exit 1; }
say() { [ -n "${QUIET:-}" ] || echo "build-nginx-src: $*"; }

print_env() {  # [DIR]: the sanitizer options to run the ASan build with
    local supp=${OUTDIR:-<OUTDIR>}/ubsan.supp log=""
    # detect_leaks=0: nginx never frees its cycle pools at exit, so LSan
    #   would turn every clean exit into exit code 23.
    # detect_odr_violation=0: every dynamic module defines its own
    #   ngx_modules/ngx_module_names/ngx_module_order, as the nginx binary
    #   does; ASan aborts load_module with "odr-violation" otherwise.
    # halt_on_error=1:abort_on_error=1: a worker with a report dies on
    #   SIGABRT, which its master logs as "[alert] ... exited on signal 6"
    #   (a plain exit(1) is only a [notice]); disable_coredump=1 keeps
    #   ASan-sized cores off the disk.
    # suppressions: nginx core's own UB at every start (ngx_pstrdup of the
    #   empty -g parameter: memcpy(p, NULL, 0)).
    # No log_path by default: nginx dup2()s its error log onto stderr once
    #   started, so reports land in error.log (grep it for
    #   "AddressSanitizer|runtime error:"), and before that on the
    #   caller's stderr.  A log_path (DIR given) gives one file per process
    #   (DIR/asan.<pid>), but DIR must then be writable by the worker user
    #   (nobody when nginx runs as root), and with gcc UBSan reports ignore
    #   log_path and still go to stderr, i.e. error.log.
    [ -n "${1:-}" ] && log=":log_path=$1/asan"
    echo "ASAN_OPTIONS=detect_leaks=0:detect_odr_violation=0:halt_on_error=1:abort_on_error=1:disable_coredump=1$log"
    echo "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1:suppressions=$supp$log"
}

if [ "${1:-}" = "--env" ]; then
    [ -n "${2:-}" ] && OUTDIR=$(cd "$2" && pwd)
    print_env "${3:-}"; exit 0
fi

[ $# -ge 1 ] && [ $# -le 3 ] || {
    echo "usage: $0 OUTDIR [asan|valgrind|plain] [MODULE_DIR]" >&2; exit 2; }

REPO=$(cd "$(dirname "$0")/.." && pwd)
SRC_CACHE=$REPO/build/nginx-src
FLAVOUR=${2:-asan}
MODULE_DIR=${3:-}
case $FLAVOUR in asan|valgrind|plain) ;;
    *) die "flavour must be asan, valgrind or plain";; esac
mkdir -p "$1"
OUTDIR=$(cd "$1" && pwd)
if [ -n "$MODULE_DIR" ]; then
    [ -f "$MODULE_DIR/config" ] || die "$MODULE_DIR/config not found"
    MODULE_DIR=$(cd "$MODULE_DIR" && pwd)
fi
CC=${CC:-cc}
command -v "$CC" >/dev/null || die "compiler $CC not found"

LOGS=$OUTDIR/build-logs
mkdir -p "$LOGS"

run_logged() {  # LOGNAME CMD...: quiet; on failure show the log's tail
    local log=$LOGS/$1; shift
    if ! "$@" >"$log" 2>&1; then
        echo "build-nginx-src: FAILED: $*" >&2
        echo "---- last 40 lines of $log ----" >&2
        tail -n 40 "$log" >&2
        exit 1
    fi
}

# ---------------------------------------------------------------- deps ---
need_pkgs() {
    local missing="" p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
            || missing="$missing $p"
    done
    echo "$missing"
}

apt_install() {
    [ "$(id -u)" = 0 ] || die "missing packages:$* (run as root)"
    say "installing$*"
    export DEBIAN_FRONTEND=noninteractive
    run_logged apt-install.log sh -c \
        "apt-get update -qq && apt-get install -y -qq --no-install-recommends $*"
}

pkgs="make zlib1g-dev libssl-dev tar gzip"
# PCRE2 is what nginx 1.22 prefers (and what Debian's nginx uses);
# fall back to libpcre3-dev only if that is what is installed.
if [ -z "$(need_pkgs libpcre3-dev)" ] && [ -n "$(need_pkgs libpcre2-dev)" ]; then
    pkgs="$pkgs libpcre3-dev"
else
    pkgs="$pkgs libpcre2-dev"
fi
case $("$CC" --version 2>/dev/null | head -n1) in
    *clang*) CC_KIND=clang
             [ "$FLAVOUR" = asan ] && pkgs="$pkgs libclang-rt-14-dev" ;;
    *)       CC_KIND=gcc
             [ "$FLAVOUR" = asan ] && pkgs="$pkgs libasan8 libubsan1" ;;
esac
missing=$(need_pkgs $pkgs)
[ -z "$missing" ] || apt_install $missing

# -------------------------------------------------------------- source ---
tree_ok() {  # the tarball holds the complete nginx-1.22.1 upstream tree
    local list
    list=$(tar tzf "$1" 2>/dev/null) || return 1
    for f in configure auto/cc/conf src/core/nginx.c src/core/nginx.h \
             src/http/ngx_http.c src/http/v2/ngx_http_v2.c; do
        grep -qx "nginx-$NGX_VERSION/$f" <<<"$list" || return 1
    done
    tar xzOf "$1" "nginx-$NGX_VERSION/src/core/nginx.h" \
        | grep -q "#define NGINX_VERSION *\"$NGX_VERSION\""
}

add_deb_src() {
    # A deb-src twin of Debian's own apt entries (deb.debian.org and
    # security), in a separate file so the original stays untouched.
    local f
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        f=/etc/apt/sources.list.d/imprest-deb-src.sources
        [ -f "$f" ] && return 0
        # One deb822 stanza per paragraph; keep those whose URIs are
        # Debian's, turn their Types into deb-src.
        awk 'BEGIN { RS = ""; ORS = "\n\n" }
             /URIs:[^\n]*debian\.org/ {
                 sub(/Types:[^\n]*/, "Types: deb-src"); print }' \
            /etc/apt/sources.list.d/debian.sources > "$f.tmp"
        [ -s "$f.tmp" ] || { rm -f "$f.tmp"; die "no Debian entry in debian.sources"; }
        mv "$f.tmp" "$f"
    else
        f=/etc/apt/sources.list.d/imprest-deb-src.list
        [ -f "$f" ] && return 0
        grep -hE '^deb +(\[[^]]*\] +)?https?://[^ ]*debian\.org' \
            /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
            | sed 's/^deb /deb-src /' > "$f.tmp" || true
        [ -s "$f.tmp" ] || { rm -f "$f.tmp"; die "no Debian apt entry found"; }
        mv "$f.tmp" "$f"
    fi
    say "added $f"
}

fetch_source() {
    mkdir -p "$SRC_CACHE"
    if [ -f "$SRC_CACHE/$ORIG" ] && tree_ok "$SRC_CACHE/$ORIG"; then
        return 0
    fi
    rm -f "$SRC_CACHE/$ORIG"
    [ "$(id -u)" = 0 ] || die "$SRC_CACHE/$ORIG missing; fetching it needs root"
    say "fetching nginx $NGX_VERSION source from Debian's apt repositories"
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "$(apt-cache showsrc nginx 2>/dev/null)" ]; then
        add_deb_src
        run_logged apt-update.log apt-get update
    fi
    # Patch files may fail; only the orig tarball matters.
    (cd "$SRC_CACHE" && apt-get source --download-only nginx) \
        >"$LOGS/fetch.log" 2>&1 || true
    if [ ! -f "$SRC_CACHE/$ORIG" ]; then
        echo "---- last 40 lines of $LOGS/fetch.log ----" >&2
        tail -n 40 "$LOGS/fetch.log" >&2
        die "apt-get source did not deliver $ORIG"
    fi
    tree_ok "$SRC_CACHE/$ORIG" || die "$ORIG is not the nginx $NGX_VERSION tree"
}

# Two builds at once must not both fetch.
mkdir -p "$REPO/build"
exec 9>"$REPO/build/.nginx-src.lock"
flock 9
fetch_source
flock -u 9

# ----------------------------------------------------------- configure ---
CC_OPT="-g"
LD_OPT=""
if [ "$FLAVOUR" = asan ]; then
    # No -Werror here: nginx's auto/cc/{gcc,clang} already add -Werror to
    # CFLAGS for every object (nginx and the module alike), while
    # --with-cc-opt also goes into configure's feature probes, where
    # -Werror fails the strerrordesc_np() probe (-Wdiscarded-qualifiers in
    # nginx's own test program) and silently changes the configuration.
    #
    # UBSan's alignment check is off: nginx reads and writes unaligned
    # uint16_t/uint32_t on purpose on x86 (NGX_HAVE_NONALIGNED): the
    # HTTP/1 request-line parser (ngx_str3_cmp & co., hit by pipelined
    # requests) and the HTTP/2 frame code report on nearly every request.
    #
    # NGX_DEBUG_PALLOC=1 makes every ngx_palloc()/ngx_pnalloc() its own
    # malloc() (nginx's debugging switch for memory checkers); without it
    # pool memory is carved out of big blocks and ASan cannot see an
    # overflow of a pool allocation, which is how nginx code allocates.
    CC_OPT="-fsanitize=address,undefined -fno-sanitize=alignment -fno-omit-frame-pointer -g -O1 -DNGX_DEBUG_PALLOC=1"
    LD_OPT="-fsanitize=address,undefined -fno-sanitize=alignment"
    if [ "$CC_KIND" = clang ]; then
        # clang only: its UBSan also checks pointer-overflow, which nginx
        # core trips while parsing a config (ngx_http_script.c: offset
        # arithmetic on a NULL base); and without private aliases ASan
        # registers a module's ngx_modules[] at the address the nginx
        # binary's (interposed) ngx_modules[] has, poisons it past the
        # module's size and reports a false global-buffer-overflow in
        # ngx_cycle_modules() on the first reload.
        CC_OPT="$CC_OPT -fno-sanitize=pointer-overflow -mllvm -asan-use-private-alias=1"
        LD_OPT="$LD_OPT -fno-sanitize=pointer-overflow"
    fi
fi
if [ "$FLAVOUR" = valgrind ]; then
    # For memcheck (make valgrind): no sanitizer, symbols, and
    # NGX_DEBUG_PALLOC=1 so that every pool allocation is its own malloc()
    # and memcheck sees a read or write past one (see the asan flavour).
    CC_OPT="-g -O1 -fno-omit-frame-pointer -DNGX_DEBUG_PALLOC=1"
fi

CONF_ARGS=(
    --prefix="$OUTDIR"
    --sbin-path="$OUTDIR/sbin/nginx"
    --modules-path="$OUTDIR/modules"
    --conf-path="$OUTDIR/conf/nginx.conf"
    --with-compat --with-debug --with-threads
    --with-http_ssl_module --with-http_v2_module
    --with-http_auth_request_module --with-http_realip_module
    --with-http_stub_status_module --with-pcre-jit
    --with-cc="$CC"
    --with-cc-opt="$CC_OPT"
)
[ -n "$LD_OPT" ] && CONF_ARGS+=(--with-ld-opt="$LD_OPT")
[ -n "$MODULE_DIR" ] && CONF_ARGS+=(--add-dynamic-module="$MODULE_DIR")

stamp_of() {
    printf '%s\n' "$NGX_VERSION" "$FLAVOUR" "$("$CC" --version | head -n1)" \
        "${CONF_ARGS[@]}"
    [ -n "$MODULE_DIR" ] && cat "$MODULE_DIR/config"
    return 0
}
STAMP=$(stamp_of | sha256sum | cut -d' ' -f1)
SRC=$OUTDIR/src

if [ -z "${FRESH:-}" ] && [ -f "$SRC/objs/Makefile" ] \
   && [ "$(cat "$SRC/.imprest-stamp" 2>/dev/null)" = "$STAMP" ]; then
    say "reusing configured tree $SRC"
    # objs/Makefile lists only the module's .c files and ngx_module_deps;
    # drop its objects so a header edit can never leave a stale .so.
    find "$SRC/objs/addon" -name '*.o' -delete 2>/dev/null || true
    rm -f "$SRC"/objs/*.so
else
    say "extracting into $SRC"
    rm -rf "$SRC" "$OUTDIR/sbin" "$OUTDIR/modules"
    mkdir -p "$SRC"
    tar xzf "$SRC_CACHE/$ORIG" -C "$SRC" --strip-components=1
    say "configuring ($FLAVOUR, $("$CC" --version | head -n1))"
    (cd "$SRC" && run_logged configure.log ./configure "${CONF_ARGS[@]}")
    echo "$STAMP" > "$SRC/.imprest-stamp"
fi

# --------------------------------------------------------------- build ---
say "building (log: $LOGS/make.log)"
start=$(date +%s)
run_logged make.log make -C "$SRC" -j"${JOBS:-2}"
# `make install` lays out sbin/, conf/, html/, logs/, modules/ in OUTDIR.
run_logged install.log make -C "$SRC" install
say "built in $(( $(date +%s) - start ))s"

# UBSan suppressions for nginx core's own (benign) UB; see print_env.
printf '%s\n' '# nginx core: ngx_pstrdup(&cycle->conf_param) with an empty -g: memcpy(p, NULL, 0)' \
    'nonnull-attribute:ngx_pstrdup' \
    '# nginx core: its debug log prints empty ngx_str_t (args, exten) with %V:' \
    '# memcpy(p, NULL, 0) in ngx_sprintf_str on every request without a query' \
    'nonnull-attribute:ngx_sprintf_str' \
    '# nginx core: proxy_pass without a URI part copies an empty vars.uri' \
    'nonnull-attribute:ngx_http_proxy_create_request' > "$OUTDIR/ubsan.supp"

ASAN_OPTIONS=detect_leaks=0:detect_odr_violation=0 \
UBSAN_OPTIONS=suppressions=$OUTDIR/ubsan.supp \
"$OUTDIR/sbin/nginx" -V >"$LOGS/nginx-V.txt" 2>&1 \
    || { cat "$LOGS/nginx-V.txt" >&2; die "the built nginx does not run"; }

echo "nginx:  $OUTDIR/sbin/nginx"
shopt -s nullglob
for so in "$OUTDIR"/modules/*.so; do echo "module: $so"; done
if [ "$FLAVOUR" = asan ]; then
    echo "run it with (also printed by: $0 --env $OUTDIR [REPORT_DIR]):"
    print_env | sed 's/^/  /'
fi
