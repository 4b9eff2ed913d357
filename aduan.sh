#!/bin/bash
# aduan.sh - set up, build, demonstrate and test Aduan on Debian 12, as root.
#
#   ./aduan.sh demo    install packages, build, run the gateway and send it complaints
#   ./aduan.sh test    install packages, build, run the whole test suite (ctest), then
#                      again built with AddressSanitizer and UndefinedBehaviorSanitizer,
#                      then each fuzzer for ADUAN_FUZZ_SECONDS (60)
#   ./aduan.sh bench   install, build, run the benchmarks (tests/bench/, label "bench")
#   ./aduan.sh deps    only install the packages
#   ./aduan.sh build   only build (build/, executables in build/bin/)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
JOBS=$(nproc)

# Debian 12 packages: the build, the libraries, and the servers the tests start.
PACKAGES=(
    build-essential cmake pkg-config bc procps
    # systemd-analyze rates the service units (tests/systemd)
    systemd
    # the fuzzers (tests/fuzz): clang with libFuzzer
    clang libclang-rt-14-dev
    libczmq-dev libzmq3-dev libsqlite3-dev sqlite3 libinih-dev libjansson-dev
    libssl-dev libsystemd-dev libcmocka-dev
    # the SMS channel, and Gammu's dummy phone for its tests and the demo
    libgammu-dev gammu
    # the email channel, and the loopback mail world its tests and the demo start
    libetpan-dev libesmtp-dev libxml2-dev openssl
    dovecot-core dovecot-imapd dovecot-lmtpd postfix swaks libnet-ssleay-perl
    libauthen-sasl-perl libio-socket-ssl-perl curl
    # the email benchmark's reference (mbsync)
    isync
    # the SMS benchmark's reference (gammu-smsd, files backend)
    gammu-smsd
    # letters and registers (PDF), and reading them back in tests
    libcairo2-dev libfontconfig-dev poppler-utils
    # the suggestion box: OCR (Tesseract, Indonesian and English), PDF scans, TIFF in tests
    libtesseract-dev libleptonica-dev tesseract-ocr tesseract-ocr-ind tesseract-ocr-eng
    libpoppler-glib-dev libtiff-dev
)

deps() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    echo "aduan.sh: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" > /dev/null
}

# build DIR [cmake options...]
build() {
    local dir=$1
    shift
    cmake -S "$ROOT" -B "$dir" -DADUAN_WERROR=ON "$@" > /dev/null
    cmake --build "$dir" -j "$JOBS"
}

# The number and text of each message in a dummy-phone folder: Gammu's backup files hold
# the text as hex UCS-2 (perl and iconv are on every Debian).
phone_texts() {
    local f
    for f in "$1"/*; do
        [ -f "$f" ] || continue
        printf '  to %s: ' "$(sed -n 's/^Number = "\(.*\)"/\1/p' "$f" | head -1)"
        perl -ne 'print pack("H*", $1) if /^Text\d+ = ([0-9A-Fa-f]+)/' "$f" |
            iconv -f UTF-16BE -t UTF-8
        echo
    done
}

# inject_sms DEVICE NUMBER TEXT: an SMS arrives in the dummy phone's inbox. gammu writes
# it elsewhere as an outgoing message; it becomes a received one and is moved in whole.
inject_sms() {
    local device=$1 staging=$ROOT/.state/demo/staging n
    rm -rf "$staging" && mkdir -p "$staging"
    printf '[gammu]\nmodel = dummy\nconnection = none\ndevice = %s/\n' "$staging" > "$staging.rc"
    gammu -c "$staging.rc" savesms TEXT -folder 3 -unread -sender "$2" -text "$3" > /dev/null
    sed -i 's/^PDU = Submit/PDU = Deliver/' "$staging/sms/3/1"
    mkdir -p "$device/sms/3"
    n=1
    while [ -e "$device/sms/3/$n" ]; do n=$((n + 1)); done
    mv "$staging/sms/3/1" "$device/sms/3/$n"
}

# wait_for SECONDS COMMAND...: until the command succeeds
wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@" > /dev/null 2>&1; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.5
    done
}

demo() {
    deps
    build build
    local conf=$ROOT/conf/aduan.conf state=$ROOT/.state/demo ctl
    ctl=(build/bin/aduanctl -c "$conf")
    export TZ=${TZ:-Asia/Jakarta}

    echo "aduan.sh: the loopback mail world (Dovecot and Postfix on 127.0.0.1, mail to"
    echo "          test.local) and Gammu's dummy phone (a folder) stand in for the office's"
    echo "          mail server and GSM modem"
    tests/world/mailworld.sh up
    eval "$(tests/world/mailworld.sh env)"
    mkdir -p "$state/phone"
    printf '[gammu]\nmodel = dummy\nconnection = none\ndevice = %s/phone/\n' "$state" \
        > "$state/gammurc"
    install -m 600 "$MAILWORLD_PASSWORD_FILE" "$state/kantor.pass"

    echo "aduan.sh: starting aduan-gatewayd -c conf/aduan.conf (state in .state/)"
    build/bin/aduan-gatewayd -c "$conf" 2> "$state/gatewayd.log" &
    DAEMON=$!
    trap 'kill -TERM $DAEMON 2> /dev/null; wait $DAEMON 2> /dev/null || true' EXIT
    wait_for 10 "${ctl[@]}" --timeout 200 stats ||
        { cat "$state/gatewayd.log"; echo "aduan.sh: the daemon did not start"; exit 1; }
    tickets() { "${ctl[@]}" --json list --limit 100000 | { grep -c '"ticket"' || true; }; }
    local before
    before=$(tickets)

    echo
    echo "aduan.sh: a citizen sends an SMS to the office's modem:"
    echo "  +6281234567890: Jalan di depan kantor desa rusak parah, mohon segera diperbaiki"
    inject_sms "$state/phone" +6281234567890 \
        "Jalan di depan kantor desa rusak parah, mohon segera diperbaiki"
    echo "aduan.sh: a citizen writes to kantor@test.local:"
    echo "  warga@test.local: Izin usaha belum terbit setelah tiga minggu"
    swaks --silent 2 --server 127.0.0.1:"$MAILWORLD_SMTP_PORT" --from warga@test.local \
        --to kantor@test.local --header 'Subject: Izin usaha belum terbit setelah tiga minggu' \
        --body 'Selamat siang, permohonan izin usaha saya belum terbit. Mohon dibantu. Warga' \
        > /dev/null

    echo
    echo "aduan.sh: waiting for both to be registered and answered ..."
    count_tickets() { [ "$(tickets)" -ge $((before + 2)) ]; }
    acked_by_mail() {
        doveadm -c "$MAILWORLD_DOVECOT_CONF" search -u warga@test.local mailbox INBOX \
            header Auto-Submitted auto-replied | grep -q .
    }
    wait_for 60 count_tickets || { tail -20 "$state/gatewayd.log"; exit 1; }
    wait_for 60 acked_by_mail || true
    sleep 2 # the SMS acknowledgement and the staff notices leave within the poll interval

    echo
    echo "aduan.sh: the registry as staff see it (aduanctl list):"
    "${ctl[@]}" list --limit 5
    echo
    echo "aduan.sh: what the modem sent (the dummy phone's sent folders): the acknowledgement"
    echo "          with the ticket, and the notices to staff"
    phone_texts "$state/phone/sms/2"
    phone_texts "$state/phone/sms/4"
    echo
    echo "aduan.sh: the acknowledgement in the citizen's mailbox (warga@test.local):"
    local uid
    uid=$(doveadm -c "$MAILWORLD_DOVECOT_CONF" search -u warga@test.local mailbox INBOX \
        header Auto-Submitted auto-replied | tail -1 | awk '{ print $2 }')
    [ -z "$uid" ] || doveadm -c "$MAILWORLD_DOVECOT_CONF" fetch -u warga@test.local \
        text.utf8 mailbox INBOX uid "$uid" | sed -n '/^From:/,$p' | sed 's/^/  /'

    echo
    echo "aduan.sh: the daemon's log is in .state/demo/gatewayd.log; staff commands:"
    echo "          build/bin/aduanctl -c conf/aduan.conf --help"
}

run_tests() {
    deps
    build build
    (cd build && ctest -LE bench --output-on-failure -j "$JOBS")
    echo "aduan.sh: again, built with AddressSanitizer and UndefinedBehaviorSanitizer"
    build build-asan -DCMAKE_BUILD_TYPE=Debug -DADUAN_SANITIZE=ON
    (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest -LE bench --output-on-failure -j "$JOBS")
    echo "aduan.sh: the fuzzers (tests/fuzz), each for ${ADUAN_FUZZ_SECONDS:-60} s, built with clang"
    CC=clang build build-fuzz -DADUAN_FUZZ=ON -DADUAN_FUZZ_SECONDS="${ADUAN_FUZZ_SECONDS:-60}"
    (cd build-fuzz && ctest -L fuzz --output-on-failure -j "$JOBS")
}

bench() {
    deps
    build build
    (cd build && ctest -L bench --output-on-failure -V)
}

case "${1:-}" in
deps) deps ;;
build) deps && build build ;;
demo) demo ;;
test) run_tests ;;
bench) bench ;;
*)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
