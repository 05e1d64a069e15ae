#!/usr/bin/env python3
"""Runs a VMM (QEMU or jvmm) with a QMP socket, reacts to guest output and events, records both.

  qmp_run.py [--on 'serial:TEXT=>JSON'] [--on 'event:NAME=>JSON'] [--timeout S] -- VMM ARGS...

The script adds `-qmp unix:SOCK,server=on,wait=off -serial stdio`. It prints the guest's serial
lines as `serial: ...`, every QMP event as `event: NAME DATA` (timestamps dropped), replies to the
commands it sent as `reply: ...`, and finally `exit: STATUS`. Each --on rule fires once.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time


def list_lines(f):
    """Lines until EOF or a reset connection (the VMM exiting)."""
    while True:
        try:
            raw = f.readline()
        except OSError:
            return
        if not raw:
            return
        yield raw


def main(argv):
    rules, timeout = [], 30.0
    while argv and argv[0] != "--":
        if argv[0] == "--on":
            trigger, cmd = argv[1].split("=>", 1)
            kind, text = trigger.split(":", 1)
            rules.append([kind, text, cmd])
            argv = argv[2:]
        elif argv[0] == "--timeout":
            timeout = float(argv[1])
            argv = argv[2:]
        else:
            sys.exit("unknown option " + argv[0])
    vmm = argv[1:]
    sock_path = os.path.join(tempfile.mkdtemp(), "qmp.sock")
    proc = subprocess.Popen(vmm + ["-qmp", "unix:%s,server=on,wait=off" % sock_path, "-serial", "stdio"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out_lock = threading.Lock()
    qmp = {"sock": None}

    def emit(line):
        with out_lock:
            print(line, flush=True)

    def send(cmd):
        if qmp["sock"] is not None:
            qmp["sock"].sendall(cmd.encode() + b"\n")

    def fire(kind, text):
        for r in rules:
            if r[0] == kind and r[1] in text:
                r[0] = "done"
                send(r[2])

    for _ in range(100):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock_path)
            break
        except OSError:
            time.sleep(0.05)
    f = s.makefile("rb")
    f.readline()  # greeting
    s.sendall(b'{"execute":"qmp_capabilities"}\n')
    f.readline()
    qmp["sock"] = s

    def read_qmp():
        for raw in list_lines(f):
            msg = json.loads(raw)
            if "event" in msg:
                emit("event: %s %s" % (msg["event"], json.dumps(msg.get("data", {}), sort_keys=True)))
                fire("event", msg["event"])
            else:
                emit("reply: " + json.dumps(msg, sort_keys=True))

    threading.Thread(target=read_qmp, daemon=True).start()

    def read_serial():
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            emit("serial: " + line)
            fire("serial", line)

    t = threading.Thread(target=read_serial, daemon=True)
    t.start()
    try:
        status = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        emit("timeout: sending quit")
        send('{"execute":"quit"}')
        status = proc.wait(10)
    t.join(2)
    time.sleep(0.2)
    err = proc.stderr.read().decode(errors="replace").strip()
    if err:
        emit("stderr: " + err)
    emit("exit: %d" % status)


if __name__ == "__main__":
    main(sys.argv[1:])
