package dev.jvmm.qmp;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A virtio-serial port plugged into a running guest on a chardev added at run time, then unplugged, under
 * QEMU 7.2 and jvmm with the same command line: the tiny guest (action=vserial, echoing on port 1 meanwhile)
 * prints the control messages the driver hears, and the replies, the DEVICE_DELETED event and those messages
 * must be the same.
 */
class VirtioSerialHotplugSideBySideTest {
    @TempDir
    Path dir;

    /** What one VMM did: the replies and events of the QMP conversation, the guest's port-2 control lines. */
    private record Run(List<Object> qmp, List<String> portTwo) {
    }

    @Test
    void portPlugsAndUnplugsOnARuntimeChardev() throws Exception {
        Path kernel = GuestVm.assumeReady();
        List<Run> runs = new ArrayList<>();
        for (String program : List.of(GuestVm.QEMU, GuestVm.jvmm())) {
            runs.add(run(program, kernel, Files.createDirectories(dir.resolve("r" + runs.size()))));
        }
        assertEquals(runs.get(0), runs.get(1));
        assertEquals(List.of("vserial: ctrl port=2 PORT_ADD value=1", "vserial: ctrl port=2 PORT_REMOVE value=1"),
                runs.get(1).portTwo());
    }

    private Run run(String program, Path kernel, Path d) throws Exception {
        List<String> extra = List.of("-chardev", "socket,id=s1,path=" + d.resolve("s1.sock") + ",server=on,wait=off",
                "-device", "virtio-serial-pci,id=vs", "-device", "virtserialport,id=p1,chardev=s1,name=echo");
        List<Object> qmp = new ArrayList<>();
        String append = "action=vserial echo=1 ctrlwait=100 linger=200";
        try (GuestVm vm = GuestVm.start(GuestVm.command(program, kernel, append, extra), d.resolve("q.sock"));
             SocketChannel host = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            host.connect(UnixDomainSocketAddress.of(d.resolve("s1.sock")));
            // the guest greets the ports the host has open when it starts: the VMM must have taken the peer
            for (int i = 0; i < 500 && vm.command("{\"execute\":\"query-chardev\"}").toString()
                    .contains("disconnected:unix:" + d.resolve("s1.sock")); i++) {
                Thread.sleep(10);
            }
            vm.cont();
            // the guest greets on port 1 once its ports are up, then echoes there and watches the control queue
            assertEquals("hello from port 1\n", read(host, "hello from port 1\n".length()),
                    () -> program + " greeted nothing; serial " + vm.serial() + "; stderr " + vm.stderrTail());
            qmp.add(vm.command("{\"execute\":\"chardev-add\",\"arguments\":{\"id\":\"c2\",\"backend\":{\"type\":"
                    + "\"socket\",\"data\":{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"" + d.resolve("c2.sock")
                    + "\"}}}}}}"));
            qmp.add(vm.command("{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"virtserialport\","
                    + "\"id\":\"p2\",\"chardev\":\"c2\",\"nr\":2,\"name\":\"hot\"}}"));
            assertTrue(vm.awaitSerial("vserial: ctrl port=2 PORT_ADD", 10_000), vm.serial().toString());
            qmp.add(vm.command("{\"execute\":\"chardev-remove\",\"arguments\":{\"id\":\"c2\"}}"));
            qmp.add(vm.command("{\"execute\":\"device_del\",\"arguments\":{\"id\":\"p2\"}}"));
            assertTrue(vm.awaitSerial("vserial: ctrl port=2 PORT_REMOVE", 10_000), vm.serial().toString());
            // QEMU lets the chardev go once the port is finalized, a moment after the unplug
            Object removed = vm.command("{\"execute\":\"chardev-remove\",\"arguments\":{\"id\":\"c2\"}}");
            for (int i = 0; i < 100 && !Map.of("return", Map.of()).equals(removed); i++) {
                Thread.sleep(20);
                removed = vm.command("{\"execute\":\"chardev-remove\",\"arguments\":{\"id\":\"c2\"}}");
            }
            qmp.add(removed);
            qmp.add(Files.exists(d.resolve("c2.sock")) ? "c2.sock left" : "c2.sock gone");
            host.write(ByteBuffer.wrap("bye\n".getBytes(StandardCharsets.US_ASCII)));
            assertEquals("bye\n", read(host, 4));
            assertTrue(vm.awaitSerial("vserial: done", 10_000), vm.serial().toString());
            GuestVm.Result r = vm.finish(10_000);
            qmp.addAll(r.events().stream().filter(e -> e.toString().contains("DEVICE_DELETED")).toList());
            return new Run(qmp, r.serial().stream().filter(l -> l.startsWith("vserial: ctrl port=2")).toList());
        }
    }

    /** Reads n bytes, waiting 20 s at most. */
    private static String read(SocketChannel ch, int n) throws Exception {
        ch.configureBlocking(false);
        ByteBuffer b = ByteBuffer.allocate(n);
        long end = System.currentTimeMillis() + 20_000;
        while (b.hasRemaining() && System.currentTimeMillis() < end) {
            if (ch.read(b) < 0) {
                break;
            }
            if (b.hasRemaining()) {
                Thread.sleep(10);
            }
        }
        return new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII);
    }
}
