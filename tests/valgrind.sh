#!/bin/bash
# The integration suite with the daemon under valgrind's memcheck (issue #8): every
# aduan-gatewayd the tests start runs as `valgrind ... aduan-gatewayd`; any report of
# valgrind's in a daemon's log fails the test program (tests/integration/harness.c), and
# the daemon exits 99. Slow: the harness's waits are stretched tenfold (ADUAN_TEST_SLOW),
# and the test programs run directly, without ctest's time limits. The chaos tests count
# on timing and are left out.
#   usage: tests/valgrind.sh [BUILD_DIR] [regex of test programs]
set -euo pipefail
BUILD=${1:-build}
PATTERN=${2:-'^(gateway_|sms_dummy|email_imap|email_flow|sop_|phone_calls|box_ocr)'}
export ADUAN_TEST_SLOW=${ADUAN_TEST_SLOW:-10}
export ADUAN_TEST_WRAPPER="valgrind --quiet --error-exitcode=99 --leak-check=full \
--errors-for-leak-kinds=definite --show-leak-kinds=definite \
--suppressions=$(cd "$(dirname "$0")" && pwd)/valgrind.supp"
cd "$BUILD/tests"
failed=()
for t in $(ls | grep -E "$PATTERN" || true); do
    [ -x "$t" ] && [ -f "$t" ] || continue
    echo "== $t"
    if ./"$t" > "$t.valgrind.log" 2>&1; then
        echo "   clean"
    else
        echo "   FAILED (see $BUILD/tests/$t.valgrind.log)"
        grep -E '^harness: ==|FAILED|ERROR' "$t.valgrind.log" | head -20 | sed 's/^/   /'
        failed+=("$t")
    fi
done
[ ${#failed[@]} -eq 0 ] || { echo "valgrind.sh: failed: ${failed[*]}"; exit 1; }
echo "valgrind.sh: all clean"
