#!/usr/bin/env bash
# Builds jvmm and boots its built-in demo guest on the serial console.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mvn -q -B -ntp package -DskipTests
exec bin/jvmm -nographic "$@"
