package dev.jvmm.devices.acpi;

import java.util.List;

/**
 * One ISA device as the DSDT describes it under \_SB.PCI0.ISA (ACPI 6.4 section 6.1.5 _HID, 6.1.12 _UID,
 * 6.2.2 _CRS): a 1-4 character ACPI name, a PNP id ("PNP0501", an EISA id) or a string id ("QEMU0001"),
 * a unique id, its I/O ranges and ISA IRQs.
 */
public record AcpiIsaDevice(String name, String hid, int uid, List<IoRange> io, List<Integer> irqs) {
    /** A 16-bit-decoded I/O range with its alignment (as in the IO() resource macro). */
    public record IoRange(int base, int length, int align) {
        public IoRange {
            if (base < 0 || base > 0xffff || length < 1 || length > 0xff || align < 0 || align > 0xff) {
                throw new IllegalArgumentException("bad ISA I/O range " + base + "+" + length);
            }
        }
    }

    public AcpiIsaDevice {
        Aml.nameSeg(name);
        io = List.copyOf(io);
        irqs = List.copyOf(irqs);
        for (int irq : irqs) {
            if (irq < 0 || irq > 15) {
                throw new IllegalArgumentException("ISA IRQ out of range: " + irq);
            }
        }
    }

    /** A 16550 UART: COM1 is index 0 (0x3f8, IRQ 4), as QEMU's isa-serial describes itself. */
    public static AcpiIsaDevice serial(int index, int base, int irq) {
        return new AcpiIsaDevice("COM" + (index + 1), "PNP0501", index + 1,
                List.of(new IoRange(base, 8, 0)), List.of(irq));
    }

    /** The MC146818 RTC at 0x70, IRQ 8 (QEMU describes 8 ports aligned 0x10). */
    public static AcpiIsaDevice rtc() {
        return new AcpiIsaDevice("RTC", "PNP0B00", 0, List.of(new IoRange(0x70, 8, 0x10)), List.of(8));
    }

    /** The i8042 keyboard controller: ports 0x60 and 0x64, IRQ 1. */
    public static AcpiIsaDevice keyboard() {
        return new AcpiIsaDevice("KBD", "PNP0303", 0,
                List.of(new IoRange(0x60, 1, 1), new IoRange(0x64, 1, 1)), List.of(1));
    }

    /** The i8042 auxiliary (PS/2 mouse) port: IRQ 12 only. */
    public static AcpiIsaDevice mouse() {
        return new AcpiIsaDevice("MOU", "PNP0F13", 0, List.of(), List.of(12));
    }

    /** QEMU's pvpanic ISA device at its I/O port (0x505 by default). */
    public static AcpiIsaDevice pvpanic(int port) {
        return new AcpiIsaDevice("PEVT", "QEMU0001", 0, List.of(new IoRange(port, 1, 1)), List.of());
    }
}
