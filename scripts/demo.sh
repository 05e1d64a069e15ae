#!/usr/bin/env bash
# Builds jvmm and boots its built-in demo guest on the serial console.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mvn -q -B -ntp package -DskipTests
exec bin/jvmm -kernel vmm-cli/target/guest/tiny.pvh -device isa-debug-exit,iobase=0xf4,iosize=4 -nographic "$@"
