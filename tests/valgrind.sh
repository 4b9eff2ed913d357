#!/bin/bash
# The integration suite with the daemon under valgrind's memcheck (issue #8): every
# aduan-gatewayd the tests start runs as `valgrind ... aduan-gatewayd`, and a daemon that
# valgrind finds an error in exits 99 (a test that stops it then fails and prints the
# daemon's log, valgrind's report included). Slow: timeouts are stretched tenfold.
#   usage: tests/valgrind.sh [BUILD_DIR] [ctest -R pattern]   (defaults: build, see below)
set -euo pipefail
BUILD=${1:-build}
PATTERN=${2:-'^(gateway_|chaos_|sms_dummy|email_imap|sop_)'}
export ADUAN_TEST_SLOW=${ADUAN_TEST_SLOW:-10}
export ADUAN_TEST_WRAPPER="valgrind --quiet --error-exitcode=99 --leak-check=full \
--errors-for-leak-kinds=definite --show-leak-kinds=definite --track-fds=no \
--suppressions=$(cd "$(dirname "$0")" && pwd)/valgrind.supp"
cd "$BUILD"
ctest -R "$PATTERN" --output-on-failure --timeout 3600 -j "$(nproc)"
