#!/bin/bash
# SMS intake (issue 3): 1,000 one-part SMS in Gammu's dummy phone, registered by
# aduan-gatewayd's SMS channel (each ticket committed, ACKed, then deleted from the modem),
# side by side in the same run with gammu-smsd (files backend, polling at its fastest)
# only storing the same 1,000 messages from a dummy phone of its own. Both times and their
# ratio are printed, nothing is asserted about speed.
#   usage: sms_bench.sh BUILD_DIR SOURCE_DIR
#   ADUAN_BENCH_SMS_N (1000), ADUAN_BENCH_SMS_TIMEOUT (seconds for each side, 600),
#   ADUAN_BENCH_SMS_POLL (the SMS channel's poll, default the shipped 1s),
#   ADUAN_BENCH_SMS_ONLY=smsd|aduan: one side only; ADUAN_BENCH_SMS_ACKS=no: do not wait
#   for the acknowledgements to be sent; ADUAN_BENCH_DEBUG: `aduanctl stats` at the end
set -eu
. "$(dirname "$0")/bench_lib.sh" "$1" "$2"
N=${ADUAN_BENCH_SMS_N:-1000}
TIMEOUT=${ADUAN_BENCH_SMS_TIMEOUT:-600}
POLL=${ADUAN_BENCH_SMS_POLL:-1s}
ONLY=${ADUAN_BENCH_SMS_ONLY:-}
FILL=$BUILD/tests/sms_phone_fill
SMSD_PID=
trap 'stop_daemon; [ -n "$SMSD_PID" ] && kill -TERM "$SMSD_PID" 2> /dev/null; rm -rf "$WORK"' EXIT

command -v gammu-smsd > /dev/null || { echo "gammu-smsd is not installed (apt-get install gammu-smsd)"; exit 1; }
[ -x "$FILL" ] || { echo "$FILL is missing: build the tests first"; exit 1; }

elapsed() { echo "$(date +%s.%N) - $1" | bc -l; }
files_in() { find "$1" -maxdepth 1 -type f ! -name '.*' | wc -l; }
too_long() { [ "$(echo "$(elapsed "$1") > $TIMEOUT" | bc)" = 1 ]; }

# ---- gammu-smsd: the same messages pulled from a dummy phone into its files backend
smsd_s=
if [ "$ONLY" != aduan ]; then
    S=$WORK/smsd
    mkdir -p "$S/inbox" "$S/outbox" "$S/sent" "$S/error"
    "$FILL" "$S/phone" 1 "$N"
    # polling at its fastest: no sleep between loops, the inbox read on every loop, no
    # status refresh, no checks (gammu-smsdrc(5)); debug output off
    cat > "$S/smsdrc" <<EOF
[gammu]
model = dummy
connection = none
device = $S/phone/

[smsd]
service = files
phoneid = dummy1
logfile = $S/smsd.log
debuglevel = 0
inboxpath = $S/inbox/
outboxpath = $S/outbox/
sentsmspath = $S/sent/
errorsmspath = $S/error/
inboxformat = unicode
outboxformat = unicode
transmitformat = auto
loopsleep = 0
receivefrequency = 0
commtimeout = 0
statusfrequency = 0
multiparttimeout = 10
checksecurity = 0
checkbattery = 0
checksignal = 0
checknetwork = 0
EOF
    t0=$(date +%s.%N)
    gammu-smsd -c "$S/smsdrc" > /dev/null 2>&1 &
    SMSD_PID=$!
    while :; do
        got=$(files_in "$S/inbox")
        [ "$got" -ge "$N" ] && break
        if too_long "$t0" || ! kill -0 "$SMSD_PID" 2> /dev/null; then
            echo "gammu-smsd stored $got of $N within ${TIMEOUT} s"; tail -20 "$S/smsd.log"; exit 1
        fi
        sleep 0.05
    done
    smsd_s=$(elapsed "$t0")
    kill -TERM "$SMSD_PID" && wait "$SMSD_PID" 2> /dev/null || true
    SMSD_PID=
    printf 'smsd     %d of %d messages stored in %.2f s (%.0f msg/s), %d left on the phone\n' \
        "$got" "$N" "$smsd_s" "$(echo "$got / $smsd_s" | bc -l)" "$(files_in "$S/phone/sms/1")"
fi
[ "$ONLY" = smsd ] && exit 0

# ---- the gateway: the same kind of phone, every message a ticket with an acknowledgement
A=$WORK/aduan
mkdir -p "$A"
"$FILL" "$A/phone" 1 "$N"
printf '[gammu]\nmodel = dummy\nconnection = none\ndevice = %s/phone/\n' "$A" > "$A/gammurc"
# the acknowledgements go at the fastest rate the configuration allows
cat >> "$CONF" <<EOF
[sms]
enabled = yes
account = modem-bench
gammurc = $A/gammurc
poll = $POLL
send_per_minute = 600
EOF
count() { # intakes registered (`aduanctl --json stats`)
    "$BIN/aduanctl" -c "$CONF" --json stats 2> /dev/null |
        awk '/^  "(intakes|quarantined)": / {gsub(/[^0-9]/, "", $2); n += $2} END {print n + 0}'
}
acks_sent() { # outbox rows of the SMS channel sent (or delivered)
    "$BIN/aduanctl" -c "$CONF" --json stats 2> /dev/null | tr -d ' \n' |
        grep -o '{"channel":"sms","status":"\(sent\|delivered\)","count":[0-9]*' |
        awk -F: '{n += $NF} END {print n + 0}'
}
t0=$(date +%s.%N)
start_daemon
# registered and ACKed: the channel deletes a message from the modem only after the core's
# ACK, which comes only after the commit
while :; do
    left=$(files_in "$A/phone/sms/1")
    [ "$left" -eq 0 ] && break
    if too_long "$t0"; then
        echo "gateway: $left of $N still on the phone after ${TIMEOUT} s"; tail -20 "$WORK/gatewayd.log"; exit 1
    fi
    sleep 0.05
done
gateway_s=$(elapsed "$t0")
n=$(count)
printf 'gateway  %d of %d messages registered, ACKed and deleted from the modem in %.2f s (%.0f msg/s)\n' \
    "$n" "$N" "$gateway_s" "$(echo "$n / $gateway_s" | bc -l)"
[ "$n" -eq "$N" ] || { echo "gateway registered $n, not $N"; tail -20 "$WORK/gatewayd.log"; exit 1; }
# the acknowledgements, at the channel's sending rate (send_per_minute = 600 at most)
sent=0 acks_s=0
while [ "${ADUAN_BENCH_SMS_ACKS:-yes}" != no ]; do
    sent=$(acks_sent)
    [ "$sent" -ge "$N" ] && break
    if too_long "$t0"; then
        echo "gateway: $sent of $N acknowledgements sent after ${TIMEOUT} s"; exit 1
    fi
    sleep 0.5
done
acks_s=$(elapsed "$t0")
[ -n "${ADUAN_BENCH_DEBUG:-}" ] && "$BIN/aduanctl" -c "$CONF" stats
stop_daemon
[ "$sent" -gt 0 ] &&
    printf 'gateway  %d acknowledgements sent by %.2f s (send_per_minute = 600)\n' "$sent" "$acks_s"

echo
if [ -n "$smsd_s" ]; then
    printf 'summary  %d SMS: gammu-smsd stored %.2f s | aduan-gatewayd registered %.2f s | ratio gateway/smsd %.2f (target < 1.0)\n' \
        "$N" "$smsd_s" "$gateway_s" "$(echo "$gateway_s / $smsd_s" | bc -l)"
    [ "$sent" -gt 0 ] &&
        printf 'summary  with all %d acknowledgements sent: %.2f s, ratio %.2f (bounded by the sending rate)\n' \
            "$N" "$acks_s" "$(echo "$acks_s / $smsd_s" | bc -l)"
fi
