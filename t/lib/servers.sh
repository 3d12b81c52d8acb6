# Sourced by t/e2e/run.sh and t/browser/run.sh: free ports, and a private
# redis-server and nginx (as our own children) under a temporary prefix.
# The caller sets name (for messages), tmp, nginx and redis_port, and
# kills redis_pid and nginx_pid on exit.

# free_ports FIRST-LAST N: the array ports gets the first N ports of the
# range that nothing listens on
free_ports() {
    ports=()
    for p in $(seq "${1%-*}" "${1#*-}"); do
        (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || ports+=("$p")
        [ ${#ports[@]} -eq "$2" ] && return 0
    done
    echo "$name: fewer than $2 free ports in $1" >&2
    exit 1
}

# start_redis: redis-server on 127.0.0.1:$redis_port, in $tmp/redis
start_redis() {
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' \
        --appendonly no --dir "$tmp/redis" \
        --logfile "$tmp/redis/redis.log" &
    redis_pid=$!
    for i in $(seq 50); do
        redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
}

# start_nginx URL [CURL ARGS]: nginx -t, then nginx with daemon off (it
# stops the moment we do; its stderr kept: a sanitizer build reports
# there), until URL answers
start_nginx() {
    url=$1
    shift
    if ! "$nginx" -p "$tmp/" -c conf/nginx.conf -e stderr -t -q; then
        echo "$name: nginx -t failed" >&2
        exit 1
    fi
    "$nginx" -p "$tmp/" -c conf/nginx.conf -e stderr -g 'daemon off;' \
        2> "$tmp/logs/stderr.log" &
    nginx_pid=$!
    for i in $(seq 50); do
        curl -s -o /dev/null "$@" "$url" && return 0
        sleep 0.1
    done
    echo "$name: nginx did not come up" >&2
    exit 1
}
