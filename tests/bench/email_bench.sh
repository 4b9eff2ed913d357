#!/bin/bash
# Email intake (issue 4): 10,000 messages in a Dovecot mailbox, registered by aduan-gatewayd
# with the email channel, side by side in the same run with mbsync (isync) copying the same
# mailbox to a Maildir: the floor of "read them all over IMAP". Both times and their ratio
# are printed, nothing is asserted about speed.
#   usage: email_bench.sh BUILD_DIR SOURCE_DIR      (needs root: the mail world does)
#   ADUAN_BENCH_EMAIL_N (10000), ADUAN_BENCH_EMAIL_TIMEOUT (seconds for the gateway, 1800)
#   ADUAN_BENCH_EMAIL_ONLY=mbsync: skip the gateway half
set -eu
. "$(dirname "$0")/bench_lib.sh" "$1" "$2"
N=${ADUAN_BENCH_EMAIL_N:-10000}
TIMEOUT=${ADUAN_BENCH_EMAIL_TIMEOUT:-1800}
MAILWORLD=$SRC/tests/world/mailworld.sh
export LC_ALL=C # ${#text} counts bytes: Maildir's S= must be the exact size

"$MAILWORLD" up
eval "$("$MAILWORLD" env)"
BENCH_MAIL=() # the bench users' mail folders, removed at exit (10,000 files each)
trap 'stop_daemon; rm -rf "$WORK" "${BENCH_MAIL[@]}"' EXIT

# fill_mailbox USER: N messages written straight into the user's Maildir (WORLD.md §1 c),
# each from its own citizen (@discard.test) so that each is a ticket of its own.
fill_mailbox() {
    local user=$1 local_part=${1%@*} maildir i name text now date
    maildir=$MAILWORLD_MAIL_DIR/test.local/$local_part/Maildir
    BENCH_MAIL+=("${maildir%/Maildir}")
    mkdir -p "$maildir/tmp" "$maildir/new" "$maildir/cur"
    now=$(date +%s)
    date=$(date -R -d @"$now")
    for ((i = 0; i < N; i++)); do
        text="From: Warga $i <warga.$i@discard.test>"$'\r\n'
        text+="To: $user"$'\r\n'
        text+="Subject: Pengaduan nomor $i: jalan rusak"$'\r\n'
        text+="Message-ID: <bench.$i.$$.$now@example.org>"$'\r\n'
        text+="Date: $date"$'\r\n'
        text+="Content-Type: text/plain; charset=UTF-8"$'\r\n\r\n'
        text+="Jalan di depan rumah nomor $i rusak berat sejak bulan lalu. Mohon segera diperbaiki."$'\r\n'
        name="$now.M${i}P$$.bench,S=${#text}"
        # straight into new/: a fresh user, nobody reads the folder yet (no tmp/ + rename)
        printf '%s' "$text" > "$maildir/new/$name"
    done
    # Dovecot's mail processes run as nobody: the new folders (and a new domain folder) too
    chown -R nobody:nogroup "$MAILWORLD_MAIL_DIR/test.local"
}

elapsed() { echo "$(date +%s.%N) - $1" | bc -l; }

# ---- mbsync: the same mailbox copied to a Maildir over IMAP (STARTTLS, like the gateway)
MB_USER=t-bench-mbsync-$$@test.local
"$MAILWORLD" user "${MB_USER%@*}"
t0=$(date +%s.%N)
fill_mailbox "$MB_USER"
printf 'loaded   %d messages into %s in %.2f s\n' "$N" "$MB_USER" "$(elapsed "$t0")"
mkdir -p "$WORK/mbsync/INBOX"
cat > "$WORK/mbsyncrc" <<EOF
IMAPAccount world
Host localhost
Port $MAILWORLD_IMAP_PORT
User $MB_USER
PassCmd "cat $MAILWORLD_PASSWORD_FILE"
SSLType STARTTLS
CertificateFile $MAILWORLD_CA
AuthMechs PLAIN

IMAPStore world-remote
Account world

MaildirStore local
Path $WORK/mbsync/
Inbox $WORK/mbsync/INBOX

Channel inbox
Far :world-remote:INBOX
Near :local:INBOX
Sync Pull
Create Near
Expunge None
SyncState *
EOF
t0=$(date +%s.%N)
mbsync -q -c "$WORK/mbsyncrc" inbox
mbsync_s=$(elapsed "$t0")
got=$(find "$WORK/mbsync/INBOX/new" "$WORK/mbsync/INBOX/cur" -type f | wc -l)
printf 'mbsync   %d of %d messages in %.2f s (%.0f msg/s)\n' "$got" "$N" "$mbsync_s" \
    "$(echo "$got / $mbsync_s" | bc -l)"
[ "$got" -eq "$N" ] || { echo "mbsync copied $got of $N"; exit 1; }

[ "${ADUAN_BENCH_EMAIL_ONLY:-}" = mbsync ] && exit 0

# ---- the gateway: the same kind of mailbox, registered ticket by ticket
GW_USER=t-bench-gw-$$@test.local
"$MAILWORLD" user "${GW_USER%@*}"
fill_mailbox "$GW_USER"
# acknowledgements and staff notices go out through the world's relay for real, to
# @discard.test, which takes them and throws them away (not into the shared outbox@test.local)
sed -i 's/^email = \(.*\)@.*/email = \1@discard.test/' "$CONF"
cat >> "$CONF" <<EOF
[email]
enabled = yes
account = $GW_USER
address = $GW_USER
imap_host = 127.0.0.1
imap_port = $MAILWORLD_IMAP_PORT
imap_tls = starttls
ca_file = $MAILWORLD_CA
imap_user = $GW_USER
imap_password_file = $MAILWORLD_PASSWORD_FILE
smtp_host = 127.0.0.1
smtp_port = $MAILWORLD_SMTP_PORT
smtp_tls = none
EOF
count() { # items registered (top-level intakes + quarantined of `aduanctl --json stats`)
    "$BIN/aduanctl" -c "$CONF" --json stats 2> /dev/null |
        awk '/^  "(intakes|quarantined)": / {gsub(/[^0-9]/, "", $2); n += $2} END {print n + 0}'
}
t0=$(date +%s.%N)
start_daemon
last=0
while :; do
    n=$(count)
    [ "$n" -ge "$N" ] && break
    if [ "$(echo "$(elapsed "$t0") > $TIMEOUT" | bc)" = 1 ]; then
        echo "gateway registered $n of $N within ${TIMEOUT} s"; tail -20 "$WORK/gatewayd.log"; exit 1
    fi
    [ "$n" -ne "$last" ] && last=$n
    sleep 0.2 # polling the registry: there is no event to wait on for "all 10,000"
done
gateway_s=$(elapsed "$t0")
[ -n "${ADUAN_BENCH_DEBUG:-}" ] && "$BIN/aduanctl" -c "$CONF" --json stats
stop_daemon
printf 'gateway  %d of %d messages registered in %.2f s (%.0f msg/s)\n' "$n" "$N" "$gateway_s" \
    "$(echo "$n / $gateway_s" | bc -l)"
echo
printf 'summary  %d messages: mbsync %.2f s | aduan-gatewayd %.2f s | ratio gateway/mbsync %.2f\n' \
    "$N" "$mbsync_s" "$gateway_s" "$(echo "$gateway_s / $mbsync_s" | bc -l)"
