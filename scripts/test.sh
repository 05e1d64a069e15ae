#!/usr/bin/env bash
# The whole test suite from a clean clone: install prerequisites, build everything, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mvn -B -ntp verify "$@"
