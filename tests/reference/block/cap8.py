from qmp import *
q = Q(["-drive","file=/tmp/ref/c.raw,format=raw,if=none,id=d0","-device","virtio-blk-pci,drive=d0,id=vblk0"], "io-ok.txt")
q.cmd({"execute":"cont"}); q.events(3.0)
q.cmd({"execute":"query-blockstats"})
q.cmd({"execute":"query-blockstats","arguments":{"query-nodes":True}})
q.cmd({"execute":"query-block"})
q.close()
