#!/usr/bin/env python3
"""Joins real-mode setup sectors and the protected-mode payload into a Linux boot-protocol image."""
import struct
import sys

SETUP_SECTS_OFF = 0x1F1
SYSSIZE_OFF = 0x1F4


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: mkbzimage.py setup.bin payload.bin out")
    setup = bytearray(open(sys.argv[1], "rb").read())
    payload = open(sys.argv[2], "rb").read()
    sects = setup[SETUP_SECTS_OFF]
    want = (sects + 1) * 512
    if len(setup) > want:
        sys.exit("setup is %d bytes, more than setup_sects=%d allows" % (len(setup), sects))
    setup += bytes(want - len(setup))
    struct.pack_into("<I", setup, SYSSIZE_OFF, (len(payload) + 15) // 16)
    with open(sys.argv[3], "wb") as f:
        f.write(setup)
        f.write(payload)


if __name__ == "__main__":
    main()
