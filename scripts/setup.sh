#!/usr/bin/env bash
# Installs what building and testing jvmm needs on a Debian 12 machine, skipping what is present:
# JDK 17, Maven, gcc/make/binutils/python3 (guest kernels), QEMU 7.2 and qemu-img (the reference), socat, iasl,
# libseccomp2 (-sandbox), libvirt's daemon and virsh (the libvirt tests run a private libvirtd).
set -euo pipefail
need=()
command -v javac >/dev/null || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need+=(maven)
command -v gcc >/dev/null || need+=(gcc)
command -v make >/dev/null || need+=(make)
command -v objcopy >/dev/null || need+=(binutils)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v python3 >/dev/null || need+=(python3)
command -v socat >/dev/null || need+=(socat)
command -v iasl >/dev/null || need+=(acpica-tools)
# libvirt's daemon and virsh, for the tests that run a private libvirtd against jvmm
[ -x /usr/sbin/libvirtd ] || need+=(libvirt-daemon libvirt-daemon-driver-qemu)
command -v virsh >/dev/null || need+=(libvirt-clients)
{ /sbin/ldconfig -p 2>/dev/null || true; } | grep 'libseccomp\.so\.2 ' >/dev/null || need+=(libseccomp2)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing ${need[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi
