#!/bin/sh
# debian/imprestctl-man.sh IMPRESTCTL VERSION: imprestctl(1) on stdout,
# made from "imprestctl --help", so the manual page says what the binary
# says and has no text of its own to fall behind.
set -eu
ctl=$1
version=$2
day=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%d)

cat <<END
.TH IMPRESTCTL 1 "$day" "imprestctl $version" "Imprest gateway"
.SH NAME
imprestctl \- admin CLI for the Imprest gateway's Redis records
.SH DESCRIPTION
END
echo .nf
# roff: a backslash is \e, and a line may not start with . or '
"$ctl" --help | sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"
echo .fi
cat <<END
.SH SEE ALSO
/usr/share/doc/libnginx-mod-http-imprest/README.md.gz (package
libnginx-mod-http-imprest): the module, its directives and the Redis
records imprestctl writes.
END
