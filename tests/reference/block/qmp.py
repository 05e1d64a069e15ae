import json, socket, subprocess, sys, time, os
class Q:
    def __init__(self, args, out, sock="/tmp/ref/blockdev-qmp.sock"):
        if os.path.exists(sock): os.unlink(sock)
        self.p = subprocess.Popen(["qemu-system-x86_64","-enable-kvm","-nodefaults","-display","none","-S",
            "-qmp","unix:%s,server=on,wait=off"%sock]+args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.out = open(out, "w")
        self.out.write("# qemu " + " ".join(args) + "\n")
        for i in range(100):
            try:
                self.s = socket.socket(socket.AF_UNIX); self.s.connect(sock); break
            except OSError:
                if self.p.poll() is not None:
                    self.out.write("# EXIT %d: %s\n" % (self.p.returncode, self.p.stdout.read().decode())); self.out.close(); self.s=None; return
                time.sleep(0.05)
        self.buf = b""
        self.readline()
        self.cmd({"execute":"qmp_capabilities"}, log=False)
    def cmd(self, c, log=True):
        self.s.sendall((json.dumps(c)+"\n").encode())
        if log: self.out.write("-> " + json.dumps(c) + "\n")
        while True:
            line = self.readline().decode().rstrip("\r\n")
            j = json.loads(line)
            if log: self.out.write("<- " + line + "\n")
            if "event" not in j: return j
    def readline(self):
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d: r=self.buf; self.buf=b""; return r
            self.buf += d
        i = self.buf.index(b"\n"); r = self.buf[:i+1]; self.buf = self.buf[i+1:]; return r
    def hmp(self, text):
        return self.cmd({"execute":"human-monitor-command","arguments":{"command-line":text}})
    def events(self, wait=0.5):
        self.s.settimeout(wait)
        try:
            while True:
                line = self.readline().decode().rstrip("\r\n")
                if not line: break
                self.out.write("<- " + line + "\n")
        except (socket.timeout, OSError): pass
        self.s.settimeout(None)
    def close(self):
        if self.s:
            try: self.cmd({"execute":"quit"}, log=False)
            except Exception: pass
        self.p.wait(5); self.out.close()
def fail(args, out):
    try:
        r = subprocess.run(["qemu-system-x86_64","-enable-kvm","-nodefaults","-display","none","-S"]+args, capture_output=True, timeout=2, text=True)
    except subprocess.TimeoutExpired as e:
        with open(out, "a") as f: f.write("$ qemu " + " ".join(args) + "\n" + (e.stderr.decode() if e.stderr else "") + "# started, no error\n")
        return
    with open(out, "a") as f:
        f.write("$ qemu " + " ".join(args) + "\n" + r.stdout + r.stderr + "# rc=%d\n" % r.returncode)
