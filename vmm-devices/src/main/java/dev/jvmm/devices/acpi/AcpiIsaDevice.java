package dev.jvmm.devices.acpi;

import static dev.jvmm.devices.acpi.Aml.integer;
import static dev.jvmm.devices.acpi.Aml.nameDecl;
import static dev.jvmm.devices.acpi.AmlOps.arg;
import static dev.jvmm.devices.acpi.AmlOps.local;
import static dev.jvmm.devices.acpi.AmlOps.store;

/**
 * One ISA device's description under the ISA bridge's device in the DSDT (ACPI 6.4 section 6.1.5 _HID,
 * 6.2.2 _CRS): its AML device term(s), as QEMU 7.2's ISA devices build them for the pc machine (their
 * build_aml hooks: mc146818rtc, isa-serial, i8042, isa-fdc, pvpanic-isa).
 *
 * @param name the ACPI name of the (first) device, for messages and tests
 * @param aml  the encoded Device terms
 */
public record AcpiIsaDevice(String name, byte[] aml) {
    /** Section 6.3.7 _STA: present, enabled, shown in the UI, functioning. */
    static final int STA_PRESENT = 0x0f;
    /** QEMU's isa-fdc: ports 0x3f2-0x3f5 and 0x3f7, IRQ 6, DMA channel 2. */
    static final int FDC_BASE = 0x3f0;
    static final int FDC_IRQ = 6;
    static final int FDC_DMA = 2;
    /** Section 9.9.1 _FDE: four drive-present dwords and the tape dword, 2 = "no tape drive". */
    static final int FDE_LENGTH = 20;
    static final int FDE_NO_TAPE = 2;

    public AcpiIsaDevice {
        Aml.nameSeg(name);
        aml = aml.clone();
    }

    @Override
    public byte[] aml() {
        return aml.clone();
    }

    /** Two descriptions are equal when they encode the same AML. */
    @Override
    public boolean equals(Object o) {
        return o instanceof AcpiIsaDevice d && d.name.equals(name) && java.util.Arrays.equals(d.aml, aml);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + java.util.Arrays.hashCode(aml);
    }

    @Override
    public String toString() {
        return "AcpiIsaDevice[" + name + ", " + java.util.HexFormat.of().formatHex(aml) + "]";
    }

    /** A 16550 UART: COM1 is index 0 (0x3f8, IRQ 4), as QEMU's isa-serial describes itself. */
    public static AcpiIsaDevice serial(int index, int base, int irq) {
        String name = "COM" + (index + 1);
        return new AcpiIsaDevice(name, Aml.device(name,
                nameDecl("_HID", Aml.hid("PNP0501")),
                nameDecl("_UID", integer(index + 1)),
                nameDecl("_STA", integer(STA_PRESENT)),
                nameDecl("_CRS", Aml.resourceTemplate(Aml.io(base, base, 0, 8), Aml.irqNoFlags(irq)))));
    }

    /** The MC146818 RTC at 0x70 (8 ports), IRQ 8; QEMU gives it no _UID and no _STA. */
    public static AcpiIsaDevice rtc() {
        return new AcpiIsaDevice("RTC", Aml.device("RTC",
                nameDecl("_HID", Aml.hid("PNP0B00")),
                nameDecl("_CRS", Aml.resourceTemplate(Aml.io(0x70, 0x70, 1, 8), Aml.irqNoFlags(8)))));
    }

    /** The i8042: the keyboard (ports 0x60 and 0x64, IRQ 1) and its auxiliary PS/2 mouse port (IRQ 12). */
    public static AcpiIsaDevice i8042() {
        byte[] kbd = Aml.device("KBD",
                nameDecl("_HID", Aml.hid("PNP0303")),
                nameDecl("_STA", integer(STA_PRESENT)),
                nameDecl("_CRS", Aml.resourceTemplate(Aml.io(0x60, 0x60, 1, 1), Aml.io(0x64, 0x64, 1, 1),
                        Aml.irqNoFlags(1))));
        byte[] mou = Aml.device("MOU",
                nameDecl("_HID", Aml.hid("PNP0F13")),
                nameDecl("_STA", integer(STA_PRESENT)),
                nameDecl("_CRS", Aml.resourceTemplate(Aml.irqNoFlags(12))));
        return new AcpiIsaDevice("KBD", Aml.concat(kbd, mou));
    }

    /**
     * QEMU's isa-fdc without drives (-nodefaults): FDC0 with its ports, IRQ 6, DMA 2 and an _FDE listing no
     * drive. jvmm has no floppy controller: the description is there so that the DSDT is QEMU's, and the
     * ports answer nothing (all ones), as a controller without drives is of no use to a guest anyway.
     */
    public static AcpiIsaDevice floppyController() {
        byte[] fde = new byte[FDE_LENGTH];
        fde[FDE_LENGTH - 4] = FDE_NO_TAPE;
        return new AcpiIsaDevice("FDC0", Aml.device("FDC0",
                nameDecl("_HID", Aml.hid("PNP0700")),
                nameDecl("_CRS", Aml.resourceTemplate(Aml.io(FDC_BASE + 2, FDC_BASE + 2, 0, 4),
                        Aml.io(FDC_BASE + 7, FDC_BASE + 7, 0, 1), Aml.irqNoFlags(FDC_IRQ), Aml.dma8(FDC_DMA))),
                nameDecl("_FDE", Aml.buffer(fde))));
    }

    /** QEMU's pvpanic ISA device at its I/O port (0x505 by default), with RDPT/WRPT to read and write it. */
    public static AcpiIsaDevice pvpanic(int port) {
        return new AcpiIsaDevice("PEVT", Aml.device("PEVT",
                nameDecl("_HID", Aml.hid("QEMU0001")),
                nameDecl("_CRS", Aml.resourceTemplate(Aml.io(port, port, 1, 1))),
                AmlOps.operationRegion("PEOR", AmlOps.SYSTEM_IO, port, 1),
                AmlOps.field("PEOR", AmlOps.BYTE_ACC | AmlOps.PRESERVE, AmlOps.unit("PEPT", 8)),
                nameDecl("_STA", integer(STA_PRESENT)),
                Aml.method("RDPT", 0, false, store(Aml.name("PEPT"), local(0)), Aml.ret(local(0))),
                Aml.method("WRPT", 1, false, store(arg(0), Aml.name("PEPT")))));
    }
}
