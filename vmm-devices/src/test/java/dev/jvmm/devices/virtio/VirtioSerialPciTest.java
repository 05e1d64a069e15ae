package dev.jvmm.devices.virtio;

import dev.jvmm.core.io.IoHandler;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.QomNode;
import dev.jvmm.devices.model.DeviceModel;
import dev.jvmm.devices.model.TestBoard;
import dev.jvmm.devices.pci.PciConfigSpace;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.jvmm.devices.virtio.VirtioPciTransport.*;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * -device virtio-serial-pci, virtserialport and virtconsole through the device model (no KVM needed): bus
 * names and where ports go, port numbers, QEMU 7.2's refusals (VirtioSerialOptionsTest compares them with
 * QEMU end to end), query-chardev's frontend-open, and the QOM nodes.
 */
class VirtioSerialPciTest {
    final TestBoard board = new TestBoard();

    @AfterEach
    void close() {
        board.close();
    }

    private VirtioSerialPort port(DeviceModel.Device d) {
        return ((VirtioSerialPort.Realized) d.instance()).port();
    }

    @Test
    void busNamesAndPortNumbers() throws Exception {
        board.add("virtio-serial-pci");
        board.add("virtio-serial,id=vs,max_ports=4");
        QomNode anonBus = board.node("/machine/peripheral-anon/device[0]/virtio-backend/virtio-serial-bus.0");
        assertEquals("virtio-serial-bus", anonBus.type(), "a controller without id= names its bus by the type");
        QomNode vsBus = board.node("/machine/peripheral/vs/virtio-backend/vs.0");
        assertEquals("virtio-serial-bus", vsBus.type());
        assertEquals("/machine/peripheral/vs/virtio-backend", vsBus.get("hotplug-handler"));

        VirtioSerialPort first = port(board.add("virtserialport,id=p1,name=org.test.0"));
        VirtioSerialPort console = port(board.add("virtconsole,bus=vs.0"));
        VirtioSerialPort second = port(board.add("virtserialport,bus=vs.0"));
        assertEquals(1, first.nr(), "no bus=: the last controller made (QEMU's qbus_find_recursive), whose port 0"
                + " is kept for a console");
        assertEquals(0, console.nr(), "the first console takes port 0");
        assertEquals(2, second.nr());
        assertEquals("org.test.0", first.name());
        assertEquals("p1", first.id(), "VSERPORT_CHANGE names it");

        QomNode p1 = board.node("/machine/peripheral/p1");
        assertEquals(1L, p1.get("nr"), "nr reads the number the bus gave");
        assertEquals("org.test.0", p1.get("name"));
        assertEquals("", p1.get("chardev"));
        assertEquals(vsBus.path(), p1.get("parent_bus"));
        assertEquals(true, p1.get("hotpluggable"));
        assertEquals(p1.path(), vsBus.get("child[0]"));
        assertEquals("Attempt to set property 'nr' on device 'p1' (type 'virtserialport') after it was realized",
                assertThrows(PropertyException.class, () -> p1.set("nr", 3L)).getMessage());
        QomNode console0 = board.node("/machine/peripheral-anon/device[1]");
        assertEquals("virtconsole", console0.type());
        assertEquals("Attempt to set property 'nr' on anonymous device (type 'virtconsole') after it was realized",
                assertThrows(PropertyException.class, () -> console0.set("nr", 3L)).getMessage());

        QomNode proxy = board.node("/machine/peripheral/vs");
        assertEquals(1920L, proxy.get("class"), "QEMU settles class 0 on communication-other");
        assertEquals(4L, proxy.get("max_ports"));
        assertEquals("Attempt to set property 'max_ports' on anonymous device (type 'virtio-serial-device') after"
                + " it was realized", assertThrows(PropertyException.class, () -> proxy.set("max_ports", 3L))
                .getMessage());
    }

    /**
     * ioeventfd=off (QEMU's virtio-pci property): after DRIVER_OK the enabled queue's notify address stays
     * unregistered, so each notify exits to the transport; the default registers it.
     */
    @Test
    void ioeventfdOffLeavesTheNotifyAddressUnregistered() throws PropertyException {
        VirtioGuest.RecordingIoEvents kvm = new VirtioGuest.RecordingIoEvents();
        try (TestBoard b = TestBoard.builder().ioevents(kvm).build()) {
            b.add("virtio-serial-pci,id=on,addr=4");
            b.add("virtio-serial-pci,id=off,addr=5,ioeventfd=off");
            assertEquals(true, b.node("/machine/peripheral/on").get("ioeventfd"));
            assertEquals(false, b.node("/machine/peripheral/off").get("ioeventfd"));
            startQueue0((VirtioPciTransport) b.pci.function(4, 0), 0xfe00_0000L);
            assertEquals(List.of("fe003000/2/0"), kvm.live);
            startQueue0((VirtioPciTransport) b.pci.function(5, 0), 0xfd00_0000L);
            assertEquals(List.of("fe003000/2/0"), kvm.live, "ioeventfd=off registers nothing");
        }
    }

    /** Places BAR4 at bar4, then the driver start of 3.1.1 with queue 0 alone enabled. */
    private static void startQueue0(VirtioPciTransport t, long bar4) {
        t.writeConfig(PciConfigSpace.BAR0 + 16, 4, (int) bar4);
        t.writeConfig(PciConfigSpace.BAR0 + 20, 4, 0);
        t.writeConfig(PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY | PciConfigSpace.COMMAND_MASTER);
        IoHandler common = t.bars().get(t.bars().size() - 1).handler();
        int c = COMMON_CFG_OFFSET;
        common.write(c + DEVICE_STATUS, 1, ACKNOWLEDGE | DRIVER);
        common.write(c + DRIVER_FEATURE_SELECT, 4, 1);
        common.write(c + DRIVER_FEATURE, 4, 1); // VIRTIO_F_VERSION_1
        int ok = ACKNOWLEDGE | DRIVER | FEATURES_OK;
        common.write(c + DEVICE_STATUS, 1, ok);
        common.write(c + QUEUE_SELECT, 2, 0);
        common.write(c + QUEUE_DESC_LO, 4, 0x10000);
        common.write(c + QUEUE_DRIVER_LO, 4, 0x20000);
        common.write(c + QUEUE_DEVICE_LO, 4, 0x30000);
        common.write(c + QUEUE_ENABLE, 2, 1);
        common.write(c + DEVICE_STATUS, 1, ok | DRIVER_OK);
        assertEquals(ok | DRIVER_OK, common.read(c + DEVICE_STATUS, 1));
    }

    @Test
    void refusalsAsQemu() {
        assertEquals("No 'virtio-serial-bus' bus found for device 'virtserialport'", board.refusal("virtserialport"));
        assertEquals("Property 'virtio-serial-pci.bogus' not found", board.refusal("virtio-serial-pci,bogus=1"));
        assertEquals("Property 'virtio-serial-pci.bogus' not found", board.refusal("virtio-serial,bogus=1"));
        assertEquals("Bus 'pci.1' not found", board.refusal("virtio-serial,bus=pci.1"));
        assertEquals("Maximum number of serial ports not specified", board.refusal("virtio-serial-pci,max_ports=0"));
        assertEquals("maximum ports supported: 511", board.refusal("virtio-serial-pci,max_ports=512"));
        assertEquals("Parameter 'max_ports' expects integer", board.refusal("virtio-serial-pci,max_ports=x"));
        assertEquals("Parameter 'max_ports' expects uint32_t", board.refusal("virtio-serial-pci,max_ports=-1"));
        assertEquals("Parameter 'emergency-write' expects 'on' or 'off'",
                board.refusal("virtio-serial-pci,emergency-write=x"));
        assertEquals("Parameter 'ioeventfd' expects 'on' or 'off'", board.refusal("virtio-serial-pci,ioeventfd=x"));
        assertEquals("property 'class=0x380' is not supported by jvmm (its virtio-serial-pci is a communication"
                + " controller, class 0x780)", board.refusal("virtio-serial-pci,class=0x380"));
        assertEquals("property 'vectors=200' is not supported by jvmm (at most 128)",
                board.refusal("virtio-serial-pci,vectors=200"));
        assertEquals("No 'virtio-bus' bus found for device 'virtio-serial-device'",
                board.refusal("virtio-serial-device"));
        assertTrue(board.model.devices().isEmpty());

        board.add("virtio-serial-pci,id=vs");
        assertEquals("Bus 'virtio-serial0.0' not found", board.refusal("virtserialport,bus=virtio-serial0.0"));
        assertEquals("Bus 'vs.1' not found", board.refusal("virtconsole,bus=vs.1"));
        assertEquals("Device 'virtserialport' can't go on PCI bus", board.refusal("virtserialport,bus=pci.0"));
        assertEquals("Property 'virtserialport.bogus' not found", board.refusal("virtserialport,bogus=1"));
        assertEquals("Parameter 'nr' expects integer", board.refusal("virtserialport,nr=x"));
        assertEquals("Parameter 'nr' expects uint32_t", board.refusal("virtserialport,nr=-1"));
        assertEquals("Port number 0 on virtio-serial devices reserved for virtconsole devices for backward"
                + " compatibility.", board.refusal("virtserialport,bus=vs.0,nr=0"));
        assertEquals("virtio-serial-bus: Out-of-range port id specified, max. allowed: 30",
                board.refusal("virtserialport,nr=31"));
        assertEquals("Property 'virtserialport.chardev' can't find value 'nope'",
                board.refusal("virtserialport,chardev=nope"));
        board.add("virtserialport,nr=5,name=a");
        assertEquals("virtio-serial-bus: A port already exists at id 5", board.refusal("virtserialport,nr=5,name=a"));
        assertEquals("virtio-serial-bus: A port already exists by name a", board.refusal("virtserialport,name=a"));
        assertEquals("Duplicate ID 'vs' for device", board.refusal("virtio-serial-pci,id=vs"));
    }

    @Test
    void namesAreUniqueAcrossBusesAndNumbersPerBus() {
        board.add("virtio-serial-pci,id=a");
        board.add("virtio-serial-pci,id=b");
        board.add("virtserialport,bus=a.0,name=x,nr=1");
        assertEquals("virtio-serial-bus: A port already exists by name x",
                board.refusal("virtserialport,bus=b.0,name=x"));
        assertEquals(1, port(board.add("virtserialport,bus=b.0,nr=1")).nr(), "numbers belong to each bus");
        assertEquals("virtio-serial-bus: A port already exists at id 1",
                board.refusal("virtserialport,bus=b.0,name=x,nr=1"), "QEMU checks the number first");
    }

    @Test
    void smallControllers() {
        board.add("virtio-serial-pci,max_ports=1");
        assertEquals("virtio-serial-bus: Out-of-range port id specified, max. allowed: 0",
                board.refusal("virtserialport"));
        board.add("virtconsole");
        assertEquals("virtio-serial-bus: Out-of-range port id specified, max. allowed: 0",
                board.refusal("virtconsole"));
    }

    /** A chardev has one frontend; a console's is open, a serial port's follows the guest. */
    @Test
    void chardevsAndFrontendOpen() {
        board.chardevs.fromChardevOption("null,id=c");
        board.chardevs.fromChardevOption("null,id=d");
        board.chardevs.fromChardevOption("null,id=e");
        board.add("virtio-serial-pci");
        VirtioSerialPort serial = port(board.add("virtserialport,chardev=c"));
        assertEquals("Property 'virtconsole.chardev' can't take value 'c': Device 'c' is in use",
                board.refusal("virtconsole,chardev=c"));
        board.add("virtconsole,chardev=d");
        assertFalse(board.chardevs.isFrontendOpen("c"), "until the guest opens the port");
        serial.guestConnected = true;
        assertTrue(board.chardevs.isFrontendOpen("c"));
        assertTrue(board.chardevs.isFrontendOpen("d"));
        assertFalse(board.chardevs.isFrontendOpen("e"), "no frontend");
        assertEquals("c", assertDoesNotThrow(() -> board.node("/machine/peripheral-anon/device[1]").get("chardev")));
    }

    /** vectors sizes the MSI-X table (QEMU's default is 2), class reads as QEMU settles it. */
    @Test
    void vectorsAndClass() {
        board.add("virtio-serial-pci,addr=3");
        board.add("virtio-serial-pci,addr=4,vectors=0,class=0x780");
        board.add("virtio-serial-pci,addr=5,vectors=9");
        assertEquals(2, msixTableSize(3));
        assertEquals(-1, msixTableSize(4), "no MSI-X capability");
        assertEquals(9, msixTableSize(5));
        assertEquals(0x0780, board.pci.function(3, 0).readConfig(PciConfigSpace.CLASS_DEVICE, 2));
    }

    /** Table size from the MSI-X capability (ID 0x11) of the function in the slot, or -1 without one. */
    private int msixTableSize(int slot) {
        var f = board.pci.function(slot, 0);
        int ptr = f.readConfig(PciConfigSpace.CAPABILITY_LIST, 1);
        while (ptr != 0) {
            if (f.readConfig(ptr, 1) == 0x11) {
                return (f.readConfig(ptr + 2, 2) & 0x7ff) + 1;
            }
            ptr = f.readConfig(ptr + 1, 1);
        }
        return -1;
    }

    @Test
    void closingTheMachineClosesTheControllers() {
        board.add("virtio-serial-pci");
        board.add("virtserialport");
        assertEquals(List.of("virtio-serial-pci", "virtserialport"),
                board.model.devices().stream().map(DeviceModel.Device::type).toList());
        board.model.closeAll();
    }
}
