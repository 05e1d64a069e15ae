# QMP transcript helper shared by the capture scripts under tests/reference (block/, ide/): runs QEMU 7.2 with a
# QMP socket and writes "-> command" / "<- reply or event" lines, and "$ qemu ARGS" plus stderr for refusals.
import json, socket, subprocess, sys, time, os
BASE = ["qemu-system-x86_64", "-enable-kvm", "-display", "none", "-S"]
class Q:
    def __init__(self, args, out, sock="/tmp/refide/qmp.sock", nodefaults=True, events_wait=0.3,
                 drain_on_close=True):
        self.events_wait = events_wait
        self.drain_on_close = drain_on_close
        if os.path.exists(sock): os.unlink(sock)
        extra = ["-nodefaults"] if nodefaults else []
        self.p = subprocess.Popen(BASE + extra + ["-qmp", "unix:%s,server=on,wait=off" % sock] + args,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.out = open(out, "w")
        self.out.write("# qemu " + " ".join(extra + args) + "\n")
        self.s = None
        for i in range(100):
            try:
                self.s = socket.socket(socket.AF_UNIX); self.s.connect(sock); break
            except OSError:
                self.s = None
                if self.p.poll() is not None:
                    self.out.write("# EXIT %d: %s\n" % (self.p.returncode, self.p.stdout.read().decode())); self.out.close(); return
                time.sleep(0.05)
        self.buf = b""
        self.readline()
        self.cmd({"execute": "qmp_capabilities"}, log=False)
    def note(self, text):
        self.out.write("# " + text + "\n")
    def cmd(self, c, log=True):
        self.s.sendall((json.dumps(c) + "\n").encode())
        if log: self.out.write("-> " + json.dumps(c) + "\n")
        while True:
            line = self.readline().decode().rstrip("\r\n")
            j = json.loads(line)
            if log: self.out.write("<- " + line + "\n")
            if "event" not in j: return j
    def readline(self):
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d: r = self.buf; self.buf = b""; return r
            self.buf += d
        i = self.buf.index(b"\n"); r = self.buf[:i + 1]; self.buf = self.buf[i + 1:]; return r
    def hmp(self, text):
        return self.cmd({"execute": "human-monitor-command", "arguments": {"command-line": text}})
    def events(self, wait=None):
        self.s.settimeout(self.events_wait if wait is None else wait)
        try:
            while True:
                line = self.readline().decode().rstrip("\r\n")
                if not line: break
                self.out.write("<- " + line + "\n")
        except (socket.timeout, OSError): pass
        self.s.settimeout(None)
    def close(self):
        if self.s:
            if self.drain_on_close: self.events(0.2)
            try: self.cmd({"execute": "quit"}, log=False)
            except Exception: pass
        self.p.wait(5); self.out.close()
def fail(args, out, nodefaults=True):
    extra = ["-nodefaults"] if nodefaults else []
    try:
        r = subprocess.run(BASE + extra + args, capture_output=True, timeout=2, text=True)
    except subprocess.TimeoutExpired as e:
        with open(out, "a") as f: f.write("$ qemu " + " ".join(extra + args) + "\n" + (e.stderr.decode() if e.stderr else "") + "# started, no error\n")
        return
    with open(out, "a") as f:
        f.write("$ qemu " + " ".join(extra + args) + "\n" + r.stdout + r.stderr + "# rc=%d\n" % r.returncode)
