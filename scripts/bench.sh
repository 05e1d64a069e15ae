#!/usr/bin/env bash
# Runs the benchmarks (JUnit tag "benchmark") and prints their figures; no timed assertions.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mvn -q -B -ntp package -DskipTests
mvn -B -ntp verify -Dincluded.groups=benchmark -Dexcluded.groups=none -Dsurefire.redirectTestOutputToFile=false "$@"
