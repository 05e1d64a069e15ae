#!/usr/bin/env bash
# Runs the benchmarks (JUnit tag "benchmark") and prints their figures (lines starting "BENCH" and the
# QMP module's table); nothing is asserted about speed. Record new figures in docs/benchmarks.md.
# Includes VirtioSerialBenchmarkTest (virtio-serial throughput both ways, jvmm vs QEMU); alone:
#   scripts/bench.sh -pl tests -am -Dtest=VirtioSerialBenchmarkTest -Dsurefire.failIfNoSpecifiedTests=false
# Among them: VirtioBalloonBenchmarkTest (VMM RSS before/after the guest inflates half of its RAM).
# StartupFootprintBenchmarkTest: launch to QMP greeting/reply, idle footprint and threads, ten VMs at once;
#   -Djvmm.launcher=PATH measures another bin/jvmm.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mvn -B -ntp verify -Dincluded.groups=benchmark -Dexcluded.groups=none -Dtest.output.to.file=false -Dtest.timeout="30 m" "$@"
