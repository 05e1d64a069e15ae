from qmp import *
import shutil
q = Q(["-drive","file=/tmp/ref/a.qcow2,if=none,id=drive0","-device","virtio-blk-pci,drive=drive0,id=vblk0",
       "-drive","file=/tmp/ref/b.raw,format=raw,if=none,id=drive1,readonly=on","-device","virtio-blk-pci,drive=drive1,id=vblk1",
       "-blockdev","driver=file,filename=/tmp/ref/img.raw,node-name=n-file","-blockdev","driver=raw,file=n-file,node-name=n-raw",
       "-device","virtio-blk-pci,drive=n-raw,id=vblk2"], "block_resize.txt")
for a in [{"device":"drive0","size":134217728},{"device":"drive0","size":1000},{"device":"drive0","size":-1},
          {"device":"nosuch","size":1048576},{"node-name":"nosuch","size":1048576},{"device":"drive0","node-name":"n-raw","size":1048576},
          {"size":1048576},{"device":"drive1","size":67108864},{"node-name":"n-raw","size":2097152},
          {"node-name":"n-file","size":4194304},{"device":"","size":1048576},{"device":"drive0","size":67108864}, {"device":"drive0","size":134217728+1},
          {"device":"drive0"}]:
    q.cmd({"execute":"block_resize","arguments":a})
q.cmd({"execute":"query-block"})
q.events(0.3)
q.close()
