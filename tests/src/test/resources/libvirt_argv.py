"""Runs the command line libvirt 9.0 writes for a pc-i440fx-7.2 domain with the tiny guest as kernel, as libvirtd
does it: the monitor's and the channel's sockets bound and listening in this process and passed as fd=N, then
drives the domain over QMP and prints one JSON summary on stdout.

usage: libvirt_argv.py EMULATOR WORKDIR KERNEL json|keyval [EXTRA ARGS...]
The UHCI controller and -sandbox are not in it: VirshLifecycleTest has them, through libvirtd itself."""
import glob, json, os, socket, subprocess, sys, time

emulator, work, kernel, mode = sys.argv[1:5]
extra = sys.argv[5:]
MON_FD, CHAN_FD = 28, 26


def dev(driver_json):
    """-device as libvirt writes it: JSON, or key=value (what it writes without json-cli-hotplug)."""
    if mode == 'json':
        return json.dumps(driver_json, separators=(',', ':'))
    d = dict(driver_json)
    parts = [d.pop('driver')] + ['%s=%s' % (k, v) for k, v in d.items()]
    return ','.join(parts)


def audiodev():
    return '{"id":"audio1","driver":"none"}' if mode == 'json' else 'none,id=audio1'


def listening(name, fd):
    path = os.path.join(work, name)
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(1)
    os.dup2(s.fileno(), fd)
    os.set_inheritable(fd, True)
    s.close()
    return path


mon_path = listening('mon.sock', MON_FD)
chan_path = listening('chan0.sock', CHAN_FD)
args = [emulator, '-name', 'guest=jv1,debug-threads=on', '-S',
        '-object', '{"qom-type":"secret","id":"masterKey0","format":"raw","file":"%s/master-key.aes"}' % work,
        '-machine', 'pc-i440fx-7.2,usb=off,dump-guest-core=off,memory-backend=pc.ram', '-accel', 'kvm',
        '-cpu', 'qemu64', '-m', '256',
        '-object', '{"qom-type":"memory-backend-ram","id":"pc.ram","size":268435456}',
        '-overcommit', 'mem-lock=off', '-smp', '2,sockets=2,cores=1,threads=1',
        '-uuid', '34cc9fb7-9639-4713-add1-ce736436324e', '-display', 'none', '-no-user-config', '-nodefaults',
        '-chardev', 'socket,id=charmonitor,fd=%d,server=on,wait=off' % MON_FD,
        '-mon', 'chardev=charmonitor,id=monitor,mode=control', '-rtc', 'base=utc,driftfix=slew',
        '-global', 'kvm-pit.lost_tick_policy=delay', '-no-hpet', '-no-shutdown',
        '-global', 'PIIX4_PM.disable_s3=1', '-global', 'PIIX4_PM.disable_s4=1', '-boot', 'strict=on',
        '-kernel', kernel, '-append', 'action=powerbutton',
        '-device', dev({"driver": "virtio-serial-pci", "id": "virtio-serial0", "bus": "pci.0", "addr": "0x2"}),
        '-blockdev', '{"driver":"file","filename":"%s/disk.qcow2","node-name":"libvirt-3-storage",'
                     '"auto-read-only":true,"discard":"unmap"}' % work,
        '-blockdev', '{"node-name":"libvirt-3-format","read-only":false,"driver":"qcow2",'
                     '"file":"libvirt-3-storage","backing":null}',
        '-device', dev({"driver": "virtio-blk-pci", "bus": "pci.0", "addr": "0x3", "drive": "libvirt-3-format",
                        "id": "virtio-disk0", "bootindex": 1}),
        '-blockdev', '{"driver":"file","filename":"%s/disk.raw","node-name":"libvirt-2-storage",'
                     '"auto-read-only":true,"discard":"unmap"}' % work,
        '-blockdev', '{"node-name":"libvirt-2-format","read-only":false,"driver":"raw",'
                     '"file":"libvirt-2-storage"}',
        '-device', dev({"driver": "virtio-blk-pci", "bus": "pci.0", "addr": "0x4", "drive": "libvirt-2-format",
                        "id": "virtio-disk1"}),
        '-device', dev({"driver": "ide-cd", "bus": "ide.1", "unit": 0, "id": "ide0-1-0"}),
        '-chardev', 'pty,id=charserial0',
        '-device', dev({"driver": "isa-serial", "chardev": "charserial0", "id": "serial0", "index": 0}),
        '-chardev', 'socket,id=charchannel0,fd=%d,server=on,wait=off' % CHAN_FD,
        '-device', dev({"driver": "virtserialport", "bus": "virtio-serial0.0", "nr": 1, "chardev": "charchannel0",
                        "id": "channel0", "name": "org.example.port0"}),
        '-audiodev', audiodev(),
        '-device', dev({"driver": "i6300esb", "id": "watchdog0", "bus": "pci.0", "addr": "0x6"}),
        '-watchdog-action', 'reset',
        '-device', dev({"driver": "virtio-balloon-pci", "id": "balloon0", "bus": "pci.0", "addr": "0x5"}),
        '-device', dev({"driver": "pvpanic"}), '-msg', 'timestamp=on'] + extra
errf = open(os.path.join(work, 'stderr-%s.txt' % mode), 'w')
p = subprocess.Popen(args, pass_fds=(MON_FD, CHAN_FD), stdout=subprocess.DEVNULL, stderr=errf)
os.close(MON_FD)
os.close(CHAN_FD)
summary = {'replies': {}, 'events': [], 'threads': {}}
deadline = time.time() + 60


def fail(why):
    p.kill()
    p.wait()
    summary['error'] = why
    summary['stderr'] = open(os.path.join(work, 'stderr-%s.txt' % mode)).read()
    print(json.dumps(summary))
    sys.exit(0)


mon = socket.socket(socket.AF_UNIX)
mon.settimeout(30)
try:
    mon.connect(mon_path)
except OSError as e:
    fail('monitor: %s' % e)
f = mon.makefile('rw')


def read_msg():
    try:
        line = f.readline()
    except OSError as e:
        fail('monitor: %s' % e)
    if not line:
        fail('monitor closed')
    return json.loads(line)


def cmd(name, args=None, key=None):
    req = {'execute': name, 'id': name + str(len(summary['replies']))}
    if args is not None:
        req['arguments'] = args
    f.write(json.dumps(req) + '\n')
    f.flush()
    while True:
        m = read_msg()
        if 'event' in m:
            summary['events'].append(m)
            continue
        if m.get('id') != req['id']:
            continue
        del m['id']
        summary['replies'][key or name] = m
        return m


def wait_event(name):
    for e in summary['events']:
        if e['event'] == name:
            return e
    while time.time() < deadline:
        m = read_msg()
        if 'event' in m:
            summary['events'].append(m)
            if m['event'] == name:
                return m
    fail('no %s event' % name)


summary['greeting'] = read_msg()
cmd('qmp_capabilities')
cmd('query-status', key='status-prelaunch')
cmd('qom-list', {'path': '/objects'}, key='objects')
for prop in ('size', 'share'):
    cmd('qom-get', {'path': '/objects/pc.ram', 'property': prop}, key='pc.ram.' + prop)
for prop in ('format', 'file', 'loaded'):
    cmd('qom-get', {'path': '/objects/masterKey0', 'property': prop}, key='masterKey0.' + prop)
cmd('query-iothreads')
cmd('query-uuid')
cmd('query-name')
cmd('qom-list', {'path': '/machine/peripheral'}, key='peripheral')
cmd('query-chardev')
cmd('query-block')
cmd('query-cpus-fast')
for t in glob.glob('/proc/%d/task/*' % p.pid):
    try:
        summary['threads'][os.path.basename(t)] = open(t + '/comm').read().strip()
    except OSError:
        pass
chan = socket.socket(socket.AF_UNIX)
chan.settimeout(10)
chan.connect(chan_path)
# connect() returns once the kernel queued the connection; the VMM accepts it on its own loop a moment
# later (QEMU's main loop, jvmm's I/O loop), so the chardev may still read "disconnected" at first.
for _ in range(100):
    m = cmd('query-chardev', key='query-chardev-connected')
    if not any(c['label'] == 'charchannel0' and c['filename'].startswith('disconnected:')
               for c in m.get('return', [])):
        break
    time.sleep(0.02)
cmd('cont')
cmd('query-status', key='status-running')
# The guest arms its power button once it has set ACPI up; a press before that is not seen, so the button is
# pressed again until the guest powers off (bounded by the deadline).
import threading
stop = threading.Event()


def press():
    while not stop.is_set() and time.time() < deadline:
        mon.sendall(b'{"execute":"system_powerdown"}\n')
        stop.wait(0.5)


presser = threading.Thread(target=press, daemon=True)
presser.start()
shutdown = None
while shutdown is None and time.time() < deadline:
    m = read_msg()
    if 'event' in m:
        summary['events'].append(m)
        if m['event'] == 'SHUTDOWN':
            shutdown = m
stop.set()
presser.join()
if shutdown is None:
    fail('no SHUTDOWN event')
summary['shutdown'] = shutdown
cmd('query-status', key='status-after-shutdown')
cmd('quit')
chan.close()
try:
    summary['rc'] = p.wait(30)
except subprocess.TimeoutExpired:
    fail('did not exit after quit')
errf.close()
summary['stderr'] = open(os.path.join(work, 'stderr-%s.txt' % mode)).read()
print(json.dumps(summary))
