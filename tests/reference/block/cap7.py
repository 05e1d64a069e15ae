from qmp import fail
A="/tmp/ref/b.raw"
for c in [
 ["-drive","if=none,id=d0","-device","virtio-blk-pci,drive=d0"],
 ["-device","virtio-blk-pci"],
 ["-drive","file=%s,format=raw,if=none,id=d0,readonly=on"%A,"-device","virtio-blk-pci,drive=d0","-device","virtio-blk-pci,drive=d0"],
 ["-blockdev","driver=file,filename=%s,node-name=x,read-only=on"%A,"-device","virtio-blk-pci,drive=x","-device","virtio-blk-pci,drive=x"],
 ["-drive","file=%s,format=raw,if=none,id=d0"%A,"-blockdev","driver=raw,file=d0,node-name=y"],
 ["-drive","file=%s,format=raw,if=none,id=bad id"%A],
 ["-drive","file=%s,format=raw,if=none,id=d0,file.locking=maybe"%A],
 ["-drive","file=%s,format=raw,if=none,id=d0"%A,"-drive","file=%s,format=raw,if=none,id=d1"%A],
 ["-drive","file=/tmp/ref/a.qcow2,if=none,id=d0,bogus=1"],
]: fail(c, "/tmp/ref/errors2.txt")
