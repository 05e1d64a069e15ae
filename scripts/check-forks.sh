#!/usr/bin/env bash
# Shows what the surefire forks wrote besides test results (*.dump and *.dumpstream files: stray output on
# the command channel, a fork killed after its exit timeout) and fails when a fork did not end by itself.
# Run after `mvn verify`; .ci/run does.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t dumps < <(find . -path '*/target/surefire-reports/*' \( -name '*.dump' -o -name '*.dumpstream' \) | sort)
if [ ${#dumps[@]} -eq 0 ]; then
    echo "check-forks: every surefire fork ended cleanly (no dump files)"
    exit 0
fi
bad=0
for f in "${dumps[@]}"; do
    echo "check-forks: $f"
    head -c 4000 "$f"
    echo
    if grep -q -e 'kill self fork JVM' -e 'terminated without properly saying goodbye' -e 'The forked VM terminated' "$f"; then
        bad=1
    fi
done
if [ $bad -ne 0 ]; then
    echo "check-forks: a surefire fork did not end by itself (see above)" >&2
    exit 1
fi
