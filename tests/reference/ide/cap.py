# Captures the IDE / removable-media reference transcripts from QEMU 7.2 (run from this directory).
# Images: /tmp/refide/cd.iso (1 MiB raw), cd2.iso (2 MiB raw), hd.img (4 MiB raw), hd.qcow2 (8 MiB qcow2).
import os, subprocess
from qmp import *
os.makedirs("/tmp/refide", exist_ok=True)
def mk(name, size, fmt="raw"):
    p = "/tmp/refide/" + name
    if not os.path.exists(p): subprocess.run(["qemu-img", "create", "-q", "-f", fmt, p, size], check=True)
    return p
CD, CD2, HD, QC = mk("cd.iso", "1M"), mk("cd2.iso", "2M"), mk("hd.img", "4M"), mk("hd.qcow2", "8M", "qcow2")
# a medium no other drive or node has open (jvmm's images take their file locks when opened, QEMU's only when used)
OTHER = mk("other.iso", "1M")
QB = {"execute": "query-block"}
def ex(name, **a): return {"execute": name, "arguments": a} if a else {"execute": name}

# --- query-block for each form ---
for name, args, nd in [
    ("q-drive-cdrom-readonly-off", ["-drive", "file=%s,if=ide,media=cdrom,readonly=off" % CD], True),
    ("q-drive-virtio-cdrom", ["-drive", "file=%s,if=virtio,media=cdrom" % CD], True),
    ("q-cdrom", ["-cdrom", CD], True),
    ("q-drive-cdrom-index2", ["-drive", "file=%s,media=cdrom,if=ide,index=2" % CD], True),
    ("q-device-idecd-empty", ["-drive", "if=none,id=cd0,media=cdrom", "-device", "ide-cd,drive=cd0,id=cdrom0,bus=ide.1,unit=0"], True),
    ("q-device-idecd-medium", ["-drive", "if=none,id=cd0,media=cdrom,file=%s" % CD, "-device", "ide-cd,drive=cd0,id=cdrom0,bus=ide.1,unit=0"], True),
    ("q-device-idecd-nodrive", ["-device", "ide-cd,id=cdrom0,bus=ide.1,unit=0"], True),
    ("q-hda", ["-hda", HD], True),
    ("q-hda-hdd-cdrom", ["-hda", HD, "-hdb", QC, "-hdd", HD + "2", "-cdrom", CD], True),
    ("q-drive-ide-index1", ["-drive", "file=%s,if=ide,index=1" % HD], True),
    ("q-drive-ide-noindex", ["-drive", "file=%s,if=ide" % HD, "-drive", "file=%s,if=ide,media=cdrom" % CD, "-drive", "file=%s,if=ide,format=qcow2" % QC], True),
    ("q-drive-ide-busunit", ["-drive", "file=%s,if=ide,bus=1,unit=1" % HD], True),
    ("q-device-idehd", ["-drive", "if=none,id=d0,file=%s,format=raw" % HD, "-device", "ide-hd,drive=d0,bus=ide.0,unit=1"], True),
    ("q-device-idehd-id", ["-drive", "if=none,id=d0,file=%s,format=raw" % HD, "-device", "ide-hd,drive=d0,bus=ide.0,unit=1,id=disk1"], True),
    ("q-defaults", [], False),
]:
    if name == "q-hda-hdd-cdrom": mk("hd.img2", "1M")
    q = Q(args, name + ".txt", nodefaults=nd)
    if not q.s: continue
    q.cmd(QB)
    q.cmd(ex("query-block"))
    q.close()

# --- tray conversation on -cdrom (no qdev id) ---
q = Q(["-cdrom", CD], "tray-cdrom.txt")
q.cmd(QB)
q.cmd(ex("eject", device="ide1-cd0"))
q.cmd(QB)
q.cmd(ex("eject", device="ide1-cd0"))
q.cmd(ex("blockdev-close-tray", device="ide1-cd0"))
q.cmd(QB)
q.cmd(ex("blockdev-change-medium", device="ide1-cd0", filename=CD2))
q.cmd(QB)
q.cmd(ex("blockdev-open-tray", device="ide1-cd0"))
q.cmd(ex("blockdev-open-tray", device="ide1-cd0"))
q.cmd(QB)
q.cmd(ex("blockdev-close-tray", device="ide1-cd0"))
q.cmd(ex("blockdev-close-tray", device="ide1-cd0"))
q.close()

# --- tray conversation on a -device ide-cd with id ---
q = Q(["-drive", "if=none,id=cd0,media=cdrom", "-device", "ide-cd,drive=cd0,id=cdrom0,bus=ide.1,unit=0"], "tray-idecd.txt")
q.cmd(QB)
q.note("empty drive, tray closed: open/close")
q.cmd(ex("blockdev-open-tray", id="cdrom0"))
q.cmd(ex("blockdev-close-tray", id="cdrom0"))
q.note("change-medium with the tray closed and empty")
q.cmd(ex("blockdev-change-medium", id="cdrom0", filename=CD))
q.cmd(QB)
q.cmd(ex("blockdev-change-medium", id="cdrom0", filename=CD2, format="raw", **{"read-only-mode": "read-write"}))
q.cmd(QB)
q.cmd(ex("blockdev-change-medium", id="cdrom0", filename=CD, **{"read-only-mode": "retain"}))
q.cmd(QB)
q.cmd(ex("blockdev-change-medium", id="cdrom0", filename=CD2, **{"read-only-mode": "read-only"}))
q.cmd(QB)
q.note("remove-medium with tray closed")
q.cmd(ex("blockdev-remove-medium", id="cdrom0"))
q.cmd(ex("blockdev-open-tray", id="cdrom0", force=True))
q.cmd(ex("blockdev-remove-medium", id="cdrom0"))
q.cmd(QB)
q.cmd(ex("blockdev-remove-medium", id="cdrom0"))
q.note("insert-medium needs a node: blockdev-add")
q.cmd(ex("blockdev-insert-medium", id="cdrom0", **{"node-name": "nope"}))
q.cmd(ex("blockdev-add", driver="raw", **{"node-name": "med1", "read-only": True, "file": {"driver": "file", "filename": CD}}))
q.cmd(ex("query-named-block-nodes"))
q.cmd(ex("blockdev-insert-medium", id="cdrom0", **{"node-name": "med1"}))
q.cmd(QB)
q.cmd(ex("blockdev-insert-medium", id="cdrom0", **{"node-name": "med1"}))
q.cmd(ex("blockdev-add", driver="raw", **{"node-name": "med2", "read-only": True, "file": {"driver": "file", "filename": CD2}}))
q.cmd(ex("blockdev-insert-medium", id="cdrom0", **{"node-name": "med2"}))
q.cmd(ex("blockdev-close-tray", id="cdrom0"))
q.cmd(ex("blockdev-insert-medium", id="cdrom0", **{"node-name": "med2"}))
q.cmd(ex("blockdev-del", **{"node-name": "med1"}))
q.cmd(QB)
q.note("eject by id, force")
q.cmd(ex("eject", id="cdrom0", force=True))
q.cmd(QB)
q.cmd(ex("blockdev-del", **{"node-name": "med1"}))
q.cmd(ex("blockdev-insert-medium", id="cdrom0", **{"node-name": "med2"}))
q.cmd(ex("blockdev-close-tray", id="cdrom0"))
q.cmd(QB)
q.cmd(ex("query-named-block-nodes"))
q.close()

# --- argument and lookup errors ---
q = Q(["-drive", "if=none,id=cd0,media=cdrom,file=%s" % CD, "-device", "ide-cd,drive=cd0,id=cdrom0,bus=ide.1,unit=0",
       "-drive", "if=none,id=d0,file=%s,format=raw" % HD, "-device", "ide-hd,drive=d0,bus=ide.0,unit=1,id=disk1",
       "-drive", "if=none,id=lone,file=%s,format=qcow2" % QC, "-hda", HD + "2"], "errors-qmp.txt")
for c in [
    ex("eject"), ex("eject", device="nope"), ex("eject", id="nope"), ex("eject", device="cd0", id="cdrom0"),
    ex("eject", device="cdrom0"), ex("eject", id="cd0"),
    ex("eject", id="disk1"), ex("eject", device="d0"), ex("eject", device="ide0-hd0"), ex("eject", device="lone"),
    ex("blockdev-open-tray"), ex("blockdev-open-tray", id="nope"), ex("blockdev-open-tray", id="disk1"),
    ex("blockdev-open-tray", device="lone"), ex("blockdev-close-tray", id="disk1"), ex("blockdev-close-tray", device="lone"),
    ex("blockdev-remove-medium", id="disk1"), ex("blockdev-remove-medium", device="cd0"),
    ex("blockdev-remove-medium", id="nope"), ex("blockdev-insert-medium", id="disk1", **{"node-name": "x"}),
    ex("blockdev-insert-medium", **{"node-name": "x"}), ex("blockdev-insert-medium", device="cd0", **{"node-name": "x"}),
    ex("blockdev-change-medium", id="disk1", filename=CD), ex("blockdev-change-medium", device="lone", filename=OTHER),
    ex("blockdev-change-medium", id="cdrom0"), ex("blockdev-change-medium", id="cdrom0", filename="/tmp/refide/missing.iso"),
    ex("blockdev-change-medium", id="cdrom0", filename=CD, format="bogus"),
    ex("blockdev-change-medium", id="cdrom0", filename=CD, **{"read-only-mode": "bogus"}),
    ex("blockdev-change-medium", id="cdrom0", filename=CD, force="yes"),
    ex("eject", id="cdrom0", force="yes"), ex("eject", id="cdrom0", bogus=1),
    QB,
    ex("blockdev-change-medium", id="cdrom0", filename=QC),
    QB,
    ex("blockdev-change-medium", id="cdrom0", filename=CD, format="qcow2"),
    QB,
    ex("blockdev-change-medium", device="cd0", filename=CD, force=True),
    QB,
]:
    q.cmd(c)
q.close()

# --- command-line errors ---
open("errors-cli.txt", "w").close()
for args in [
    ["-cdrom", CD, "-drive", "file=%s,if=ide,index=2" % HD],
    ["-cdrom", CD, "-hdc", HD],
    ["-hda", HD, "-drive", "file=%s,if=ide,index=0" % HD],
    ["-drive", "file=%s,if=ide,index=4" % HD],
    ["-drive", "file=%s,if=ide,bus=2,unit=0" % HD],
    ["-drive", "file=%s,if=ide,bus=0,unit=2" % HD],
    ["-drive", "file=%s,if=ide,bus=1,unit=0,index=1" % HD],
    ["-drive", "file=%s,if=virtio,media=cdrom" % CD],
    ["-drive", "if=ide,media=disk"],
    ["-drive", "if=ide,index=0", "-drive", "if=ide,index=0"],
    ["-drive", "if=none,id=cd0,media=cdrom", "-device", "ide-hd,drive=cd0"],
    ["-drive", "if=none,id=d0", "-device", "ide-hd,drive=d0"],
    ["-device", "ide-hd,bus=ide.0"],
    ["-device", "ide-cd,bus=ide.2"],
    ["-device", "ide-cd,bus=ide.0,unit=2"],
    ["-device", "ide-cd,bus=ide.0,unit=0", "-device", "ide-cd,bus=ide.0,unit=0"],
    ["-hda", HD, "-device", "ide-cd,bus=ide.0,unit=0"],
    ["-drive", "if=none,id=cd0,media=cdrom,file=%s" % CD, "-device", "ide-cd,drive=cd0", "-device", "ide-cd,drive=cd0"],
    ["-cdrom", "/tmp/refide/missing.iso"],
    ["-hda", "/tmp/refide/missing.img"],
    ["-drive", "file=%s,if=ide,media=cdrom,readonly=off" % CD],
    ["-drive", "file=%s,if=scsi" % HD],
]:
    fail(args, "errors-cli.txt")

# --- ids by QOM path, non-block devices, blockdev-add/-del errors, device-less and anonymous backends ---
q = Q(["-cdrom", CD, "-device", "isa-debug-exit,id=dbg", "-drive", "if=none,id=d0,file=%s,format=raw" % HD,
       "-device", "ide-hd,drive=d0,bus=ide.0,unit=1,id=disk1", "-drive", "if=none,id=lone,file=%s2,format=raw" % HD,
       "-device", "ide-cd,id=cdrom9,bus=ide.0,unit=0"], "ids-and-nodes.txt")
q.cmd(QB)
for c in [
    ex("blockdev-open-tray", id="/machine/unattached/device[19]"), ex("blockdev-close-tray", id="/machine/unattached/device[19]"),
    ex("blockdev-open-tray", id="/machine/peripheral/cdrom9"), ex("blockdev-close-tray", id="/machine/peripheral/cdrom9"),
    ex("eject", id="dbg"), ex("eject", id="/machine"), ex("eject", id=""), ex("eject", device=""),
    ex("blockdev-add", driver="raw", **{"node-name": "m1", "file": {"driver": "file", "filename": CD2}}),
    ex("blockdev-add", driver="raw", **{"node-name": "m1", "file": {"driver": "file", "filename": CD2}}),
    ex("blockdev-add", driver="raw", **{"node-name": "lone", "file": {"driver": "file", "filename": CD2}}),
    ex("blockdev-add", driver="raw", **{"node-name": "m2", "file": {"driver": "file", "filename": "/tmp/refide/missing.iso"}}),
    ex("blockdev-add", driver="raw", file={"driver": "file", "filename": CD2}),
    ex("blockdev-add", driver="bogus", **{"node-name": "m3"}),
    ex("blockdev-insert-medium", id="disk1", **{"node-name": "m1"}),
    ex("blockdev-insert-medium", id="cdrom9", **{"node-name": "m1"}),
    ex("blockdev-open-tray", id="cdrom9"),
    ex("blockdev-insert-medium", id="cdrom9", **{"node-name": "m1"}),
    QB,
    ex("blockdev-close-tray", id="cdrom9"),
    ex("blockdev-del", **{"node-name": "nope"}),
    ex("blockdev-del", **{"node-name": "m1"}),
    ex("blockdev-del"),
    ex("eject", id="cdrom9"),
    ex("blockdev-del", **{"node-name": "m1"}),
    ex("blockdev-del", **{"node-name": "m1"}),
    ex("eject", device="lone"),
    QB,
    ex("blockdev-add", driver="raw", **{"node-name": "m4", "read-only": True, "file": {"driver": "file", "filename": CD2}}),
    ex("blockdev-insert-medium", id="lone", **{"node-name": "m4"}),
    ex("blockdev-close-tray", device="lone"),
    QB,
    ex("blockdev-change-medium", device="lone", filename=OTHER),
    QB,
    ex("query-named-block-nodes", flat=True),
]:
    q.cmd(c)
q.close()
