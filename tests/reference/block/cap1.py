from qmp import *
Q_ = [
 ("drive-none", ["-drive","file=/tmp/ref/a.qcow2,if=none,id=drive0","-device","virtio-blk-pci,drive=drive0,id=vblk0"]),
 ("drive-virtio", ["-drive","file=/tmp/ref/b.raw,format=raw,if=virtio"]),
 ("blockdev-json", ["-blockdev",'{"driver":"file","filename":"/tmp/ref/a.qcow2","node-name":"libvirt-1-storage"}',
    "-blockdev",'{"driver":"qcow2","file":"libvirt-1-storage","node-name":"libvirt-1-format"}',
    "-device","virtio-blk-pci,drive=libvirt-1-format,id=virtio-disk0"]),
 ("blockdev-kv", ["-blockdev","driver=file,filename=/tmp/ref/a.qcow2,node-name=libvirt-1-storage",
    "-blockdev","driver=qcow2,file=libvirt-1-storage,node-name=libvirt-1-format",
    "-device","virtio-blk-pci,drive=libvirt-1-format,id=virtio-disk0"]),
 ("blockdev-inline", ["-blockdev","driver=raw,node-name=disk,file.driver=file,file.filename=/tmp/ref/b.raw",
    "-device","virtio-blk-pci,drive=disk"]),
 ("snapshot", ["-drive","file=/tmp/ref/a.qcow2,if=none,id=drive0,snapshot=on","-device","virtio-blk-pci,drive=drive0,id=vblk0"]),
 ("readonly", ["-drive","file=/tmp/ref/b.raw,format=raw,if=none,id=drive0,readonly=on","-device","virtio-blk-pci,drive=drive0,id=vblk0"]),
 ("backing", ["-drive","file=/tmp/ref/top.qcow2,if=none,id=drive0","-device","virtio-blk-pci,drive=drive0,id=vblk0"]),
 ("werror", ["-drive","file=/tmp/ref/b.raw,format=raw,if=none,id=drive0,werror=stop,rerror=stop","-device","virtio-blk-pci,drive=drive0,id=vblk0"]),
 ("nodevice", ["-drive","file=/tmp/ref/b.raw,format=raw,if=none,id=drive0"]),
]
for name, args in Q_:
    q = Q(args, name + ".txt")
    if not q.s: continue
    q.cmd({"execute":"query-block"})
    q.cmd({"execute":"query-blockstats"})
    q.cmd({"execute":"query-blockstats","arguments":{"query-nodes":True}})
    q.cmd({"execute":"query-named-block-nodes"})
    q.cmd({"execute":"query-named-block-nodes","arguments":{"flat":True}})
    q.close()
for c in ["none","writeback","writethrough","directsync","unsafe"]:
    q = Q(["-drive","file=/tmp/ref/b.raw,format=raw,if=none,id=drive0,cache="+c,"-device","virtio-blk-pci,drive=drive0,id=vblk0"], "cache-"+c+".txt")
    q.cmd({"execute":"query-block"})
    q.cmd({"execute":"query-named-block-nodes","arguments":{"flat":True}})
    q.close()
