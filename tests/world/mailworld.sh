#!/bin/bash
# mailworld.sh - the loopback mail world the email tests run against (WORLD.md §0-2).
#
#   Dovecot 2.3   IMAP 127.0.0.1:10143 (STARTTLS), IMAPS 10993, LMTP 10024
#   Postfix 3.7   SMTP 10025 (relay for loopback, no AUTH), submission 10587 (STARTTLS + AUTH
#                 through Dovecot's SASL); a spare SMTP instance on 10026 that one test may
#                 stop and start without disturbing the others
#   users         kantor@ warga@ warga2@ outbox@ test.local, password "password";
#                 any t-*@test.local made with `user`; every recipient outside test.local
#                 lands in outbox@test.local (warga@example.org -> outbox+warga=example.org),
#                 except @discard.test: taken with 250 and thrown away (benchmarks' floods)
#   certs         a CA made here (certs/ca.pem), the servers' cert signed by it, and a second
#                 CA that signed nothing (certs/wrong-ca.pem) for the refusal tests
#
# usage: mailworld.sh up|down|status|env|check
#        mailworld.sh user NAME                 NAME@test.local, NAME = t-[a-z0-9._-]+
#        mailworld.sh restart-dovecot
#        mailworld.sh stop-postfix|start-postfix [main|spare]
#
# The world is shared by every test of a ctest run and left running: `up` takes a lock, is
# quick when all is up already, and returns only when each server greets. Needs root
# (Postfix's master starts as root; Dovecot's mail processes run as nobody).
set -euo pipefail

W=${ADUAN_WORLD:-/tmp/aduan-world}
IMAP_PORT=10143 IMAPS_PORT=10993 LMTP_PORT=10024
SMTP_PORT=10025 SUBMISSION_PORT=10587 SPARE_SMTP_PORT=10026
PASSWORD=password
USERS="kantor warga warga2 outbox"

die() { echo "mailworld: $*" >&2; exit 1; }

# wait_banner PORT PREFIX [timeout_s]: until 127.0.0.1:PORT greets with PREFIX. Dovecot binds
# its ports before auth is ready; its greeting only comes once logins can be served.
wait_banner() {
    local port=$1 prefix=$2 end=$(($(date +%s) + ${3:-15})) line
    while :; do
        if { exec 3<> /dev/tcp/127.0.0.1/"$port"; } 2> /dev/null; then
            line=""
            read -r -t 2 line <&3 || true
            exec 3<&- 3>&-
            [[ $line == "$prefix"* ]] && return 0
        fi
        [ "$(date +%s)" -ge "$end" ] && { echo "mailworld: no greeting on 127.0.0.1:$port" >&2; return 1; }
        sleep 0.02
    done
}

greets() { # PORT PREFIX: one probe, no waiting
    local line=""
    { exec 3<> /dev/tcp/127.0.0.1/"$1"; } 2> /dev/null || return 1
    read -r -t 2 line <&3 || true
    exec 3<&- 3>&-
    [[ $line == "$2"* ]]
}

alive() { # NAME: the process group in NAME.pid still runs
    local pid st
    [ -f "$W/$1.pid" ] || return 1
    pid=$(cat "$W/$1.pid")
    st=$(ps -o stat= -p "$pid" 2> /dev/null || true)
    case "$st" in "" | Z*) return 1 ;; esac
}

# ---- files ---------------------------------------------------------------------------------

make_certs() {
    local c=$W/certs
    [ -f "$c/server.pem" ] && [ -f "$c/wrong-ca.pem" ] && return 0
    mkdir -p "$c"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Aduan test CA" \
        -keyout "$c/ca-key.pem" -out "$c/ca.pem" 2> /dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$c/server-key.pem" -out "$c/server.csr" 2> /dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > "$c/server.ext"
    openssl x509 -req -in "$c/server.csr" -CA "$c/ca.pem" -CAkey "$c/ca-key.pem" \
        -CAcreateserial -days 3650 -extfile "$c/server.ext" -out "$c/server.pem" 2> /dev/null
    # a CA that looks the same but signed nothing here
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Aduan test CA" \
        -keyout "$c/wrong-ca-key.pem" -out "$c/wrong-ca.pem" 2> /dev/null
    chmod 644 "$c"/*.pem
    chmod 600 "$c"/*key.pem
}

write_dovecot_conf() {
    cat > "$W/dovecot.conf" <<EOF
# Standalone Dovecot 2.3 for the tests: reads nothing from /etc/dovecot (mailworld.sh)
base_dir  = $W/dovecot/run
state_dir = $W/dovecot/state
log_path  = $W/dovecot/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = yes
ssl_cert = <$W/certs/server.pem
ssl_key  = <$W/certs/server-key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
# wrong-password tests answer at once
auth_failure_delay = 0
mail_location = maildir:~/Maildir
# test-only: no fsync per delivered message
mail_fsync = never
# outbox+warga=example.org@test.local is user outbox@test.local
recipient_delimiter = +
# Any user of the test domain logs in with the one password: a passwd-file is re-read at
# most once a second, and users made by a test must exist at once.
passdb {
  driver = static
  args = password=$PASSWORD
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$W/mail/%d/%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
}
protocol lmtp {
  postmaster_address = postmaster@test.local
}
# SASL for Postfix's submission port
service auth {
  unix_listener postfix-auth {
    mode = 0666
  }
}
EOF
}

# write_postfix_conf NAME: main.cf and master.cf of the instance under $W/NAME
write_postfix_conf() {
    local name=$1 d=$W/$1
    mkdir -p "$d"
    cat > "$d/main.cf" <<EOF
# Postfix 3.7 test instance (mailworld.sh): loopback only, no chroot, all mail to Dovecot's LMTP.
compatibility_level = 3.6
queue_directory   = $d/spool
data_directory    = $d/data
maillog_file      = $d/maillog
maillog_file_prefixes = $W, /dev/stdout
mail_owner        = postfix
setgid_group      = postdrop
myhostname        = mail.test.local
mydomain          = test.local
myorigin          = \$mydomain
mydestination     =
inet_interfaces   = 127.0.0.1
inet_protocols    = ipv4
mynetworks        = 127.0.0.0/8
alias_maps        =
alias_database    =
biff              = no
smtputf8_enable   = yes
# known users (fixed list + the t-* users tests make); anyone else: 550 at RCPT
virtual_mailbox_domains = test.local
virtual_mailbox_maps    = texthash:$W/postfix-maps/vmailbox, regexp:$W/postfix-maps/fresh.regexp
virtual_transport       = lmtp:inet:127.0.0.1:$LMTP_PORT
# everything outside test.local is captured in outbox@test.local, but @discard.test is dropped
virtual_alias_maps      = regexp:$W/postfix-maps/catchall.regexp
transport_maps          = regexp:$W/postfix-maps/transport.regexp
virtual_alias_domains   =
recipient_delimiter     = +
default_transport       = error:no external delivery in test world
relay_transport         = error:no external delivery in test world
smtp_dns_support_level  = disabled
lmtp_host_lookup        = native
smtpd_tls_cert_file     = $W/certs/server.pem
smtpd_tls_key_file      = $W/certs/server-key.pem
smtpd_tls_security_level = may
smtpd_sasl_type         = dovecot
smtpd_sasl_path         = $W/dovecot/run/postfix-auth
smtpd_sasl_auth_enable  = no
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
delay_warning_time      = 0
queue_run_delay         = 1s
minimal_backoff_time    = 1s
maximal_backoff_time    = 5s
EOF
    {
        echo "# service type  private unpriv  chroot  wakeup  maxproc command + args"
        if [ "$name" = postfix ]; then
            echo "127.0.0.1:$SMTP_PORT inet n  -       n       -       -       smtpd"
            echo "127.0.0.1:$SUBMISSION_PORT inet n  -       n       -       -       smtpd"
            echo "  -o syslog_name=postfix/submission"
            echo "  -o smtpd_tls_security_level=encrypt"
            echo "  -o smtpd_sasl_auth_enable=yes"
            echo "  -o smtpd_tls_auth_only=yes"
            echo "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject"
            echo "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject"
        else
            echo "127.0.0.1:$SPARE_SMTP_PORT inet n  -       n       -       -       smtpd"
        fi
        cat <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    } > "$d/master.cf"
    # the queue skeleton `postfix check` would make, in 0.1 s instead of 3 s
    local q=$d/spool
    install -d -o root -g root -m 755 "$q" "$q/pid"
    for sub in active bounce corrupt defer deferred flush hold incoming private saved trace; do
        install -d -o postfix -g root -m 700 "$q/$sub"
    done
    install -d -o postfix -g postdrop -m 730 "$q/maildrop"
    install -d -o postfix -g postdrop -m 710 "$q/public"
    install -d -o postfix -m 700 "$d/data"
}

write_maps() {
    local m=$W/postfix-maps u
    mkdir -p "$m"
    for u in $USERS; do echo "$u@test.local ok"; done > "$m/vmailbox"
    echo '/^t-[a-z0-9._-]+@test\.local$/ ok' > "$m/fresh.regexp"
    cat > "$m/catchall.regexp" <<'EOF'
# any recipient outside test.local is captured in outbox@test.local; the original
# envelope recipient stays in the extension: warga@example.org -> outbox+warga=example.org@test.local
if !/@(test\.local|discard\.test)$/
/^(.*)@(.*)$/   outbox+${1}=${2}@test.local
endif
EOF
    echo '/@discard\.test$/ discard:' > "$m/transport.regexp"
}

prepare() {
    mkdir -p "$W/dovecot/run" "$W/dovecot/state" "$W/dovecot/etc" "$W/mail" "$W/secrets"
    chown nobody:nogroup "$W/mail"
    chmod 700 "$W/secrets"
    make_certs
    # the password as a file of mode 0600, as the gateway's *_password_file keys want it
    [ -f "$W/secrets/password" ] || { printf '%s\n' "$PASSWORD" > "$W/secrets/password"; chmod 600 "$W/secrets/password"; }
    touch "$W/dovecot/etc/users"
    for u in $USERS; do add_user "$u"; done
    write_dovecot_conf
    write_maps
    write_postfix_conf postfix
    write_postfix_conf postfix-spare
    touch "$W/.prepared"
}

# add_user NAME: NAME@test.local in Dovecot's passwd-file (read on every login: no reload)
# add_user NAME: NAME@test.local known to Postfix (Dovecot knows every user of test.local)
add_user() {
    local f=$W/dovecot/etc/users
    grep -q "^$1@test.local:" "$f" 2> /dev/null || echo "$1@test.local" >> "$f"
}

# ---- servers -------------------------------------------------------------------------------

start_dovecot() {
    alive dovecot && greets $IMAP_PORT '* OK' && return 0
    setsid dovecot -F -c "$W/dovecot.conf" < /dev/null >> "$W/dovecot/stdout.log" 2>&1 9>&- &
    echo $! > "$W/dovecot.pid"
    wait_banner $IMAP_PORT '* OK' && wait_banner $LMTP_PORT '220'
}

# start_postfix NAME PORT...
start_postfix() {
    local name=$1 p
    shift
    if ! alive "$name"; then
        setsid /usr/lib/postfix/sbin/master -c "$W/$name" -d < /dev/null >> "$W/$name/stdout.log" 2>&1 9>&- &
        echo $! > "$W/$name.pid"
    fi
    for p in "$@"; do wait_banner "$p" '220'; done
}

stop() { # NAME: SIGTERM to the process group, and wait until it is gone
    local pid st i
    [ -f "$W/$1.pid" ] || return 0
    pid=$(cat "$W/$1.pid")
    kill -TERM -- -"$pid" 2> /dev/null || true
    for i in $(seq 1 400); do
        # a zombie counts as gone: it is not our child, PID 1 reaps it
        st=$(ps -o stat= -p "$pid" 2> /dev/null || true)
        case "$st" in "" | Z*) break ;; esac
        sleep 0.025
    done
    rm -f "$W/$1.pid"
}

instance() { # main|spare -> the instance's folder name and ports
    case "${1:-main}" in
        main) echo "postfix $SMTP_PORT $SUBMISSION_PORT" ;;
        spare) echo "postfix-spare $SPARE_SMTP_PORT" ;;
        *) die "no Postfix instance '$1' (main, spare)" ;;
    esac
}

restart_dovecot() {
    stop dovecot
    start_dovecot
}

all_up() {
    alive dovecot && alive postfix && alive postfix-spare &&
        greets $IMAP_PORT '* OK' && greets $SMTP_PORT 220 && greets $SUBMISSION_PORT 220
}

config_sum() {
    cat "$W/dovecot.conf" "$W"/postfix*/main.cf "$W"/postfix*/master.cf "$W"/postfix-maps/* \
        2> /dev/null | sha256sum
}

up() {
    [ "$(id -u)" = 0 ] || die "needs root (Postfix's master starts as root)"
    local before
    if all_up; then
        # a world left running by an older version of this script takes the new files
        [ "$0" -nt "$W/.prepared" ] || return 0
        before=$(config_sum)
        prepare
        if [ "$before" != "$(config_sum)" ]; then
            postfix -c "$W/postfix" reload 2> /dev/null
            postfix -c "$W/postfix-spare" reload 2> /dev/null
            doveadm -c "$W/dovecot.conf" reload
        fi
        return 0
    fi
    prepare
    start_dovecot
    # shellcheck disable=SC2046
    start_postfix $(instance main)
    # shellcheck disable=SC2046
    start_postfix $(instance spare)
}

down() {
    stop postfix-spare
    stop postfix
    stop dovecot
}

status() {
    local name
    for name in dovecot postfix postfix-spare; do
        if alive "$name"; then echo "$name running (pid $(cat "$W/$name.pid"))"; else echo "$name stopped"; fi
    done
    all_up
}

env_vars() {
    cat <<EOF
ADUAN_WORLD=$W
MAILWORLD_IMAP_PORT=$IMAP_PORT
MAILWORLD_IMAPS_PORT=$IMAPS_PORT
MAILWORLD_LMTP_PORT=$LMTP_PORT
MAILWORLD_SMTP_PORT=$SMTP_PORT
MAILWORLD_SUBMISSION_PORT=$SUBMISSION_PORT
MAILWORLD_SPARE_SMTP_PORT=$SPARE_SMTP_PORT
MAILWORLD_DOMAIN=test.local
MAILWORLD_PASSWORD=$PASSWORD
MAILWORLD_PASSWORD_FILE=$W/secrets/password
MAILWORLD_SECRETS=$W/secrets
MAILWORLD_CA=$W/certs/ca.pem
MAILWORLD_WRONG_CA=$W/certs/wrong-ca.pem
MAILWORLD_DOVECOT_CONF=$W/dovecot.conf
MAILWORLD_MAIL_DIR=$W/mail
EOF
}

# check: one reply through submission lands in outbox@test.local (what the tests rely on)
check() {
    local tag="check-$$-$(date +%s%N)" i out
    swaks -4 --server 127.0.0.1:$SUBMISSION_PORT -tls --tls-verify --tls-ca-path "$W/certs/ca.pem" \
        --tls-sni localhost --auth PLAIN --auth-user kantor@test.local --auth-password "$PASSWORD" \
        --from kantor@test.local --to warga@example.org --header "Message-ID: <$tag@test.local>" \
        --header "Subject: $tag" --body 'Terima kasih' > /dev/null || die "swaks failed"
    for i in $(seq 1 200); do
        out=$(doveadm -c "$W/dovecot.conf" fetch -u outbox@test.local 'hdr.delivered-to hdr.subject' \
            mailbox INBOX header Message-ID "$tag" 2> /dev/null || true)
        [ -n "$out" ] && { echo "$out"; return 0; }
        sleep 0.05
    done
    die "the check message did not arrive in outbox@test.local"
}

locked() { # runs "$@" under the world's lock (parallel tests call up at the same time)
    mkdir -p "$W"
    # the servers started below must not inherit the lock (9>&- on them)
    exec 9> "$W/.lock"
    flock -w 120 9 || die "lock $W/.lock not taken within 120 s"
    "$@"
}

case "${1:-}" in
    up) locked up ;;
    down) locked down ;;
    status) status ;;
    env) env_vars ;;
    check) check ;;
    user)
        [[ ${2:-} =~ ^t-[a-z0-9._-]+$ ]] || die "user NAME: NAME must match t-[a-z0-9._-]+"
        locked add_user "$2"
        ;;
    restart-dovecot) locked restart_dovecot ;;
    stop-postfix) locked stop "$(instance "${2:-main}" | cut -d' ' -f1)" ;;
    # shellcheck disable=SC2046
    start-postfix) locked start_postfix $(instance "${2:-main}") ;;
    *)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
