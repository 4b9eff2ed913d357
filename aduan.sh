#!/bin/bash
# aduan.sh - set up, build, demonstrate and test Aduan on Debian 12, as root.
#
#   ./aduan.sh demo    install packages, build, run the gateway and send it complaints
#   ./aduan.sh test    install packages, build, run the whole test suite (ctest), then
#                      again built with AddressSanitizer and UndefinedBehaviorSanitizer
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
    # letters and registers (PDF), and reading them back in tests
    libcairo2-dev libfontconfig-dev poppler-utils
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

demo() {
    deps
    build build
    local conf=$ROOT/conf/aduan.conf
    export TZ=${TZ:-Asia/Jakarta}
    echo "aduan.sh: starting aduan-gatewayd -c conf/aduan.conf (state in .state/)"
    build/bin/aduan-gatewayd -c "$conf" &
    local daemon=$!
    trap 'kill -TERM $daemon 2> /dev/null; wait $daemon 2> /dev/null || true' EXIT
    for _ in $(seq 1 50); do
        build/bin/aduanctl -c "$conf" --timeout 200 stats > /dev/null 2>&1 && break
    done
    echo
    echo "aduan.sh: aduan-bench acts as the SMS channel: three complaints come in,"
    echo "          each gets a ticket, an acknowledgement goes out, the help desk is told."
    build/bin/aduan-bench -c "$conf" --demo --count 3
    echo
    echo "aduan.sh: the registry as staff see it (aduanctl list):"
    build/bin/aduanctl -c "$conf" list --limit 5
}

run_tests() {
    deps
    build build
    (cd build && ctest -LE bench --output-on-failure -j "$JOBS")
    echo "aduan.sh: again, built with AddressSanitizer and UndefinedBehaviorSanitizer"
    build build-asan -DCMAKE_BUILD_TYPE=Debug -DADUAN_SANITIZE=ON
    (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest -LE bench --output-on-failure -j "$JOBS")
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
