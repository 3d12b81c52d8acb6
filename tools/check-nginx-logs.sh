#!/bin/sh
# tools/check-nginx-logs.sh FILE...
#
# Fails when an nginx error log (or a captured nginx stderr) shows that
# something went wrong even though every response looked right: an
# [alert], [crit] or [emerg] line, a worker that "exited on signal", or a
# sanitizer report (AddressSanitizer, LeakSanitizer,
# UndefinedBehaviorSanitizer, "runtime error:").  Prints each offending
# line as FILE:LINE:TEXT and exits 1; exits 2 when a FILE is missing (a
# log that was never written is no proof of health); 0 otherwise.
set -u

if [ $# -eq 0 ]; then
    echo "usage: $0 FILE..." >&2
    exit 2
fi

pattern='\[(alert|crit|emerg)\]|exited on signal|(Address|Leak|UndefinedBehavior|Thread|Memory)Sanitizer|runtime error:'

status=0
for f in "$@"; do
    if [ ! -f "$f" ]; then
        echo "check-nginx-logs: $f: no such file" >&2
        [ $status -eq 0 ] && status=2
        continue
    fi
    if grep -n -H -a -E "$pattern" "$f"; then
        status=1
    fi
done

if [ $status -eq 1 ]; then
    echo "check-nginx-logs: nginx logged alerts, crashes or sanitizer" \
         "reports (above)" >&2
fi
exit $status
