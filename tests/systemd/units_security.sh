#!/bin/bash
# The service units' exposure as systemd rates it (`systemd-analyze security --offline`),
# for the all-in-one unit and for each component's instance of aduan@.service with its
# drop-in: each at most 2.0 (issue #8). The units are installed into a scratch root, as
# an administrator would install them into /etc/systemd/system.
#   usage: units_security.sh SOURCE_DIR
set -euo pipefail
SRC=$1
MAX=2.0
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/etc/systemd/system"
cp -r "$SRC"/systemd/* "$root/etc/systemd/system/"

failed=0
for unit in aduan-gateway aduan@core aduan@sms aduan@email aduan@phone aduan@box; do
    out=$(systemd-analyze security --offline=yes --root="$root" "$unit.service" 2>&1) || true
    level=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p' <<< "$out")
    if [ -z "$level" ]; then
        echo "FAIL $unit: no exposure level in systemd-analyze's answer:"
        echo "$out" | tail -5
        failed=1
    elif [ "$(echo "$level > $MAX" | bc)" = 1 ]; then
        echo "FAIL $unit: exposure $level, more than $MAX; what counts:"
        grep '✗' <<< "$out" || true
        failed=1
    else
        echo "ok   $unit: exposure $level"
    fi
done
# the drop-ins were read: the components without network are rated so
for unit in aduan@core aduan@sms aduan@phone aduan@box; do
    out=$(systemd-analyze security --offline=yes --root="$root" "$unit.service" 2>&1) || true
    grep -q '✓ PrivateNetwork=' <<< "$out" ||
        { echo "FAIL $unit: its drop-in did not take the network away"; failed=1; }
done
exit $failed
