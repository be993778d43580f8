#!/bin/sh
# expect.sh <count> <regex> <command...>: the command exits 0 and exactly <count> lines of its
# stderr match <regex> (the interposer says each reason once).
count=$1; regex=$2; shift 2
err=$("$@" 2>&1 >/dev/null); rc=$?
printf '%s\n' "$err"
[ "$rc" -eq 0 ] || { echo "expect.sh: exit status $rc"; exit 1; }
n=$(printf '%s\n' "$err" | grep -c -E -- "$regex")
[ "$n" -eq "$count" ] || { echo "expect.sh: $n lines match \"$regex\", expected $count"; exit 1; }
