#!/usr/bin/env python3
"""Regenerates the model part of vmm-kvm's cpu-models.txt from the installed QEMU 7.2.

QEMU is the oracle: for every model that `query-cpu-definitions` lists on a pc-i440fx-7.2 machine
under KVM, `query-cpu-model-expansion` (type full) gives the features it asks for (KVM's defaults
included), its family/model/stepping, levels and model-id, and legacy-cache (off for the models with
their own cache descriptors); `-cpu help` gives the description that
jvmm's -cpu help prints. The feature words above the marker line are kept as they are.

Usage: scripts/cpu-models.py [path/to/cpu-models.txt]   (needs /dev/kvm and qemu-system-x86_64)
"""
import json, os, socket, subprocess, sys, tempfile, time

TABLE = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "vmm-kvm/src/main/resources/dev/jvmm/kvm/cpu-models.txt")
MARKER = "# models (scripts/cpu-models.py writes everything below this line)"
QEMU = "qemu-system-x86_64"


def qmp_session():
    sock = os.path.join(tempfile.mkdtemp(), "qmp.sock")
    proc = subprocess.Popen([QEMU, "-enable-kvm", "-machine", "pc-i440fx-7.2", "-nodefaults", "-display", "none",
                             "-S", "-qmp", "unix:%s,server=on,wait=off" % sock],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock)
            break
        except OSError:
            time.sleep(0.05)
    f = s.makefile("rw")
    f.readline()

    def call(name, **args):
        f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        f.flush()
        while True:
            reply = json.loads(f.readline())
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise RuntimeError(reply["error"])
    call("qmp_capabilities")
    return proc, call


def help_descriptions():
    text = subprocess.run([QEMU, "-cpu", "help"], capture_output=True, text=True, check=True).stdout
    order, desc = [], {}
    for line in text.split("\n"):
        if line.startswith("x86 "):
            name = line[4:].split(" ", 1)[0]
            order.append(name)
            desc[name] = line[4:][len(name):].lstrip(" ") if len(line) > 4 + len(name) else ""
    return order, desc


def feature_names(words_text):
    names = set()
    for line in words_text.split("\n"):
        parts = line.split()
        if parts[:1] == ["word"]:
            rest = parts[6:] if parts[2] == "cpuid" else parts[4:]
            names.update(t.split(":", 1)[-1] for t in rest if t != "-")
    return names


def main():
    with open(TABLE) as f:
        head = f.read().split(MARKER)[0]
    known = feature_names(head)
    order, desc = help_descriptions()
    proc, call = qmp_session()
    defs = {d["name"]: d for d in call("query-cpu-definitions")}
    out = [MARKER]
    for name in order:
        d = defs[name]
        if name in ("host", "max"):
            out.append("model %s" % name)
            out.append("  help %s" % desc[name])
            continue
        if "alias-of" in d:
            verb = "versioned" if desc[name] == "(alias configured by machine type)" else "same"
            out.append("%s %s %s" % (verb, name, d["alias-of"]))
            continue
        props = call("query-cpu-model-expansion", type="full", model={"name": name})["model"]["props"]
        out.append("model %s" % name)
        out.append("  family %d model %d stepping %d level 0x%x xlevel 0x%x xlevel2 0x%x" % (
            props["family"], props["model"], props["stepping"], props["level"], props["xlevel"], props["xlevel2"]))
        out.append("  id %s" % props["model-id"])
        out.append("  help %s" % desc[name])
        out.append("  features %s" % " ".join(sorted(k for k, v in props.items() if v is True and k in known)))
        if props.get("legacy-cache") is False:
            out.append("  legacy-cache off")
    proc.kill()
    proc.wait()
    with open(TABLE, "w") as f:
        f.write(head + "\n".join(out) + "\n")


if __name__ == "__main__":
    main()
