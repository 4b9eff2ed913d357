# Shared by the benchmark scripts: a daemon on a temporary state directory.
# usage: . bench_lib.sh BUILD_DIR SOURCE_DIR
# Absolute: the configuration below lives in $WORK, and a relative path in it is read from
# there (a templates dir of "./conf/templates" was not found, and every reply fell back to
# the built-in one-line text: a lighter intake than the office's).
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
BIN=$BUILD/bin
WORK=$(mktemp -d /tmp/aduan-bench.XXXXXX)
CONF=$WORK/aduan.conf
trap 'stop_daemon; rm -rf "$WORK"' EXIT

cat > "$CONF" <<CONF
[core]
state_dir = $WORK/state
[bus]
intake = ipc://$WORK/intake.sock
events = ipc://$WORK/events.sock
control = ipc://$WORK/control.sock
[templates]
dir = $SRC/conf/templates
[outbox]
in_flight = 256
auto_replies_per_day = 1000
[staff.sari]
name = Sari Wulandari
role = helpdesk
email = sari@dpmptsp.example.go.id
phone = +6281234500001
notify = email
CONF

start_daemon() {
    "$BIN/aduan-gatewayd" -c "$CONF" 2> "$WORK/gatewayd.log" &
    DAEMON=$!
    for _ in $(seq 1 100); do
        "$BIN/aduanctl" -c "$CONF" --timeout 200 stats > /dev/null 2>&1 && return 0
    done
    echo "daemon did not come up:"; cat "$WORK/gatewayd.log"; exit 1
}

stop_daemon() {
    if [ -n "${DAEMON:-}" ]; then
        kill -TERM "$DAEMON" 2> /dev/null && wait "$DAEMON" 2> /dev/null
        DAEMON=
    fi
}

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
