from qmp import *
for name,args in [("drive-noid",["-drive","file=/tmp/ref/b.raw,format=raw,if=none","-drive","file=/tmp/ref/c.raw,format=raw,if=virtio","-drive","file=/tmp/ref/img.raw,format=raw,if=virtio,readonly=on,file.locking=off"]),("drive-empty",["-drive","if=none,id=d0"]),
   ("drive-misc",["-drive","file=/tmp/ref/b.raw,format=raw,if=none,id=d0,discard=unmap,cache=none,aio=native,node-name=mynode,werror=report,rerror=ignore","-device","virtio-blk-pci,drive=d0"])]:
    q=Q(args,name+".txt"); q.cmd({"execute":"query-block"}); q.cmd({"execute":"query-named-block-nodes","arguments":{"flat":True}}); q.close()
