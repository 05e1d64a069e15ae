from qmp import *
def run(name, opts, ops):
    q = Q(["-drive","file=blkdebug:/tmp/ref/%s:/tmp/ref/img.raw,format=raw,if=none,id=d0%s" % opts, "-device","virtio-blk-pci,drive=d0,id=vblk0"], name+".txt")
    if not q.s: return
    q.hmp('qemu-io d0 "read 0 512"')
    q.cmd({"execute":"cont"}); q.events(3.0)
    for o in ops:
        q.cmd({"execute":o} if o != "qbs" else {"execute":"query-blockstats"}); q.events(1.5 if o=="cont" else 0.1)
    q.close()
run("ioerr-rerror-stop-enospc", ("cfg28", ",rerror=stop"), ["query-status","query-block","cont","query-status","query-block","qbs"])

run("ioerr-rerror-report-enospc", ("cfg28", ",rerror=report"), ["query-status","query-block", "qbs"])


