#!/usr/bin/env bash
# Installs what building and testing jvmm needs on a Debian 12 machine, skipping what is present:
# JDK 17, Maven, gcc/make/binutils/python3 (guest kernels), QEMU 7.2 and qemu-img (the reference), socat, iasl,
# libseccomp2 (-sandbox), libvirt's daemon and virsh (the libvirt tests run a private libvirtd), and what the
# firmware-boot tests build their GRUB CD and disk images with (grub-pc-bin: GRUB's BIOS files in
# /usr/lib/grub/i386-pc; grub-common: grub-mkimage; xorriso: writes the El Torito ISO;
# mtools: mformat/mmd/mcopy fill the FAT partition without mounting it; seabios: QEMU's BIOS), libslirp0 (-netdev
# user, the library QEMU uses), liburing2 (aio=io_uring) and iproute2 and iputils-ping (the tap tests
# make their own network namespace and ping the guest from it).
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
# GRUB and the tools for the firmware-boot tests' boot media
[ -f /usr/lib/grub/i386-pc/boot.img ] || need+=(grub-pc-bin)
command -v grub-mkimage >/dev/null || need+=(grub-common)
command -v xorriso >/dev/null || need+=(xorriso)
command -v mcopy >/dev/null || need+=(mtools)
[ -f /usr/share/seabios/bios-256k.bin ] || need+=(seabios)
{ /sbin/ldconfig -p 2>/dev/null || true; } | grep 'libseccomp\.so\.2 ' >/dev/null || need+=(libseccomp2)
{ /sbin/ldconfig -p 2>/dev/null || true; } | grep 'libslirp\.so\.0 ' >/dev/null || need+=(libslirp0)
# liburing 2: aio=io_uring, the library QEMU's io_uring support uses
{ /sbin/ldconfig -p 2>/dev/null || true; } | grep 'liburing\.so\.2 ' >/dev/null || need+=(liburing2)
command -v ip >/dev/null || need+=(iproute2)
command -v ping >/dev/null || need+=(iputils-ping)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing ${need[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi
