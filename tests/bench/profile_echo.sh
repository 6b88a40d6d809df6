#!/bin/sh
# profile_echo.sh — instructions and system calls per echo request in Portico,
# independent of machine load: runs the host under callgrind (user-space
# instructions, host + plugin + libc) and then under strace -c (system calls),
# each with one loadgen connection, and divides by the replies counted.
#
#   tests/bench/profile_echo.sh BUILD_DIR [SECONDS] [MODE]
#       BUILD_DIR: a Release build; MODE: threads (default) or events
set -eu
build=$(cd "$1" && pwd)
seconds=${2:-5}
mode=${3:-threads}
case "$mode" in
threads) service_keys="    threads: {min: 2, max: 64}" ;;
events) service_keys="    mode: events
    events: {loops: 1}" ;;
*) echo "profile_echo.sh: MODE is threads or events, not '$mode'" >&2; exit 2 ;;
esac
work=$(mktemp -d /tmp/portico-profile.XXXXXX)
trap 'kill "$host" 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/portico.yaml" <<EOF
plugins:
  dir: $build/plugins
  load: [echo.so]
  watch: false
services:
  - name: echo
    listen: 127.0.0.1:$port
    handler: echo.echo
$service_keys
logging:
  level: warning
EOF

wait_port() {
    i=0
    until python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2).close()" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 600 ] || { echo "host did not start" >&2; exit 1; }; sleep 0.1
    done
}
replies() { sed -n 's/.*"total_requests": \([0-9]*\).*/\1/p' "$1"; }

# callgrind: counters zeroed after the connection warmed up, dumped at the end.
valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p" --dump-instr=no \
    "$build/bin/portico" --config "$work/portico.yaml" 2>"$work/valgrind.log" &
host=$!
wait_port
callgrind_control -z "$host" >/dev/null 2>&1
"$build/tests/bench/loadgen" --port "$port" --connections 1 --seconds "$seconds" --warmup 0 >"$work/load.out"
callgrind_control -d "$host" >/dev/null 2>&1
kill "$host"; wait "$host" 2>/dev/null || true
n=$(replies "$work/load.out")
dump=$(ls "$work"/cg.*.1 2>/dev/null | head -1)
total=$(callgrind_annotate "$dump" 2>/dev/null | sed -n 's/^\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
echo "mode $mode; callgrind: $n replies, $total instructions, $((total / n)) instructions per request"
echo "inclusive instructions per request, hottest functions:"
callgrind_annotate --inclusive=yes --threshold=100 "$dump" 2>/dev/null | awk -v n="$n" '
    /file:function/ { on = 1; next } on && /^ *[0-9,]+ / { ir = $1; gsub(",", "", ir);
    sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "");
    if (ir / n >= 5 && ir / n < total / n * 0.999) printf "  %6.0f %s\n", ir / n, substr($0, 1, 110) }' total="$total" | head -24

# strace -c: system calls per request on the worker (or loop) threads.
strace -f -c -o "$work/strace.txt" "$build/bin/portico" --config "$work/portico.yaml" 2>/dev/null &
host=$!
wait_port
"$build/tests/bench/loadgen" --port "$port" --connections 1 --seconds "$seconds" --warmup 0 >"$work/load.out"
kill "$(pgrep -P "$host")"; wait "$host" 2>/dev/null || true # stop the traced host; strace then reports
n=$(replies "$work/load.out")
echo "strace: $n replies; calls per request:"
awk -v n="$n" '$NF ~ /^(poll|recvfrom|sendto|read|write|clock_gettime|futex|setsockopt|epoll_wait)$/ {
    printf "  %-14s %.2f\n", $NF, $4 / n }' "$work/strace.txt"
