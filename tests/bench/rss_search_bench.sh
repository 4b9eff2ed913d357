#!/bin/bash
# RSS of the core after 1,000,000 complaints (target <= 32 MiB), and full-text search
# over them (target p50 <= 20 ms). ADUAN_BENCH_MILLION=N changes the count.
set -eu
. "$(dirname "$0")/bench_lib.sh" "$1" "$2"
N=${ADUAN_BENCH_MILLION:-1000000}

start_daemon
echo "rss      after start: $(rss_kib $DAEMON) KiB"
"$BIN/aduan-bench" -c "$CONF" -k 8 -n "$N" -w 64 | tee "$WORK/load.txt"
echo "rss      right after $N complaints: $(rss_kib $DAEMON) KiB (peak $(hwm_kib $DAEMON) KiB)"
sqlite_peak=$("$BIN/aduanctl" -c "$CONF" --json stats | sed -n 's/.*"sqlite_memory_peak_bytes": *\([0-9]*\).*/\1/p')
echo "rss      SQLite's own peak: $((sqlite_peak / 1024)) KiB"
sleep 3   # the core gives freed memory back after a second without work
echo "rss      idle after $N complaints: $(rss_kib $DAEMON) KiB (target <= 32768 KiB)"
"$BIN/aduan-bench" -c "$CONF" --search "perbaik*" --queries 200
"$BIN/aduan-bench" -c "$CONF" --search "izin usaha" --queries 200
"$BIN/aduan-bench" -c "$CONF" --search "sertifikat" --queries 200
echo "rss      after searching: $(rss_kib $DAEMON) KiB"
echo "disk     registry: $(du -sh "$WORK/state" | cut -f1)"
stop_daemon
