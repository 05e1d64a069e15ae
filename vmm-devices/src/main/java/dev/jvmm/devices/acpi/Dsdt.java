package dev.jvmm.devices.acpi;

import java.util.ArrayList;
import java.util.List;

import static dev.jvmm.devices.acpi.Aml.integer;
import static dev.jvmm.devices.acpi.Aml.name;
import static dev.jvmm.devices.acpi.Aml.nameDecl;
import static dev.jvmm.devices.acpi.AmlOps.NULL_TARGET;
import static dev.jvmm.devices.acpi.AmlOps.arg;
import static dev.jvmm.devices.acpi.AmlOps.call;
import static dev.jvmm.devices.acpi.AmlOps.ifThen;
import static dev.jvmm.devices.acpi.AmlOps.index;
import static dev.jvmm.devices.acpi.AmlOps.lequal;
import static dev.jvmm.devices.acpi.AmlOps.lless;
import static dev.jvmm.devices.acpi.AmlOps.local;
import static dev.jvmm.devices.acpi.AmlOps.store;

/**
 * The DSDT's term list as QEMU 7.2's build_dsdt lays it out for the pc (i440FX/PIIX4) machine, in its
 * order: the debug port method, \_SB.PCI0, the PCI hotplug registers and methods, _PRT with the PCI
 * interrupt links, [the HPET], the GPE block, CPU hotplug, the host bridge's _CRS with the GPE0 and hotplug
 * resources, the sleep states, fw_cfg, the slot devices (the ISA devices under the ISA bridge's) and
 * \_GPE._E01. What jvmm describes but does not implement is listed in DESIGN.md (ACPI).
 */
final class Dsdt {
    /** QEMU's debug port (isa-debugcon's default), written by DBUG. */
    static final int DEBUG_PORT = 0x402;
    /** PIIX4's GPE0 block (QEMU's GPE_BASE, GPE_LEN). */
    static final int GPE0_BASE = 0xafe0;
    static final int GPE0_LENGTH = 4;
    /** fw_cfg's I/O ports with DMA (0x510-0x51b), QEMU's FW_CFG_IO_BASE and FW_CFG_CTL_SIZE + DMA. */
    static final int FW_CFG_IO_BASE = 0x510;
    static final int FW_CFG_IO_LENGTH = 0x0c;
    /** Section 6.3.7 _STA: present, enabled, functioning, but not shown in the UI. */
    static final int STA_HIDDEN = 0x0b;
    /** _PRT entries: 32 slots times 4 pins. */
    static final int PRT_ENTRIES = 128;
    /** The PIIX3 function (slot 1, INTA) routes through LNKS, the SCI's link, in QEMU's _PRT. */
    static final int PRT_SCI_ENTRY = 4;
    /** QEMU's link devices offer ISA IRQs 5, 10, 11; LNKS (the SCI) IRQ 9. */
    static final int[] LINK_IRQS = {5, 10, 11};
    static final int SCI_IRQ = 9;
    /** PIIX3 PIRQRC bit 7: routing disabled. */
    static final int PIRQ_DISABLED = 0x80;
    /** _STA of a link: enabled (0x0b) or disabled (0x09). */
    static final int LINK_STA_DISABLED = 0x09;
    /** The byte offset of the interrupt number in an Extended Interrupt descriptor. */
    static final int INTERRUPT_NUMBER_OFFSET = 5;

    private Dsdt() {
    }

    static byte[] aml(AcpiConfig cfg) {
        List<byte[]> t = new ArrayList<>();
        t.add(debugMethod());
        t.add(Aml.scope("_SB", Aml.device("PCI0",
                nameDecl("_HID", Aml.hid("PNP0A03")),
                nameDecl("_ADR", integer(0)),
                nameDecl("_UID", integer(0)))));
        PciHotplugLayout hp = cfg.pciHotplug();
        if (hp.registers()) {
            t.add(PciHotplugAml.registers());
        }
        t.add(interruptLinks());
        if (cfg.hpet()) {
            t.add(HpetAcpi.dsdtScope());
        }
        t.add(Aml.scope("_GPE", nameDecl("_HID", Aml.string("ACPI0006"))));
        t.add(CpuHotplugAml.build(cfg.possibleApicIds(), cfg.numaNode()));
        if (cfg.memorySlots() > 0) {
            t.add(MemoryHotplugAml.build(cfg.memorySlots()));
        }
        List<byte[]> pci0 = new ArrayList<>(List.of(nameDecl("_CRS", hostBridgeResources(cfg)),
                resourceDevice("GPE0", "GPE0 resources", GPE0_BASE, GPE0_LENGTH)));
        if (hp.registers()) {
            pci0.add(resourceDevice("PHPR", "PCI Hotplug resources", PciHotplugAml.IO_BASE,
                    PciHotplugAml.IO_LENGTH));
        }
        t.add(Aml.scope("\\_SB.PCI0", pci0.toArray(new byte[0][])));
        t.add(sleepStates(cfg));
        t.add(Aml.scope("\\_SB.PCI0", Aml.device("FWCF",
                nameDecl("_HID", Aml.string("QEMU0002")),
                nameDecl("_STA", integer(STA_HIDDEN)),
                nameDecl("_CRS", Aml.resourceTemplate(Aml.io(FW_CFG_IO_BASE, FW_CFG_IO_BASE, 1,
                        FW_CFG_IO_LENGTH))))));
        List<byte[]> isa = new ArrayList<>();
        isa.add(PciHotplugAml.pirqRouteFields());
        // QEMU's ISA bus lists its children last-created first; isaDevices() is in creation order
        for (int i = cfg.isaDevices().size() - 1; i >= 0; i--) {
            isa.add(cfg.isaDevices().get(i).aml());
        }
        byte[] isaTerms = Aml.concat(isa.toArray(new byte[0][]));
        t.add(hp.rootHotplug() ? PciHotplugAml.slots(isaTerms)
                : PciHotplugAml.presentSlots(isaTerms, hp.presentSlots(), hp.registers()));
        if (hp.registers()) {
            t.add(PciHotplugAml.gpeHandler());
        }
        return Aml.concat(t.toArray(new byte[0][]));
    }

    /** Scope(\) { DBG, DBGB, DBUG(x) }: writes x in hex and a newline to the debug port. */
    private static byte[] debugMethod() {
        return Aml.scope("\\",
                AmlOps.operationRegion("DBG", AmlOps.SYSTEM_IO, DEBUG_PORT, 1),
                AmlOps.field("DBG", AmlOps.BYTE_ACC | AmlOps.PRESERVE, AmlOps.unit("DBGB", 8)),
                Aml.method("DBUG", 1, false,
                        AmlOps.toHexString(arg(0), local(0)),
                        AmlOps.toBuffer(local(0), local(0)),
                        AmlOps.subtract(AmlOps.sizeOf(local(0)), integer(1), local(1)),
                        store(integer(0), local(2)),
                        AmlOps.whileDo(lless(local(2), local(1)),
                                store(AmlOps.derefOf(index(local(0), local(2), NULL_TARGET)), name("DBGB")),
                                AmlOps.increment(local(2))),
                        store(integer('\n'), name("DBGB"))));
    }

    /** _PRT built at run time (slot + pin rotates over LNKD, LNKA, LNKB, LNKC), IQST, IQCR and the links. */
    private static byte[] interruptLinks() {
        byte[] prt = Aml.method("_PRT", 0, false,
                store(AmlOps.emptyPackage(PRT_ENTRIES), local(0)),
                store(integer(0), local(1)),
                AmlOps.whileDo(lless(local(1), integer(PRT_ENTRIES)),
                        store(AmlOps.shiftRight(local(1), integer(2), NULL_TARGET), local(2)),
                        store(AmlOps.and(AmlOps.add(local(1), local(2), NULL_TARGET), integer(3), NULL_TARGET),
                                local(3)),
                        ifThen(lequal(local(3), integer(0)), store(prtEntry("LNKD"), local(4))),
                        ifThen(lequal(local(3), integer(1)),
                                ifThen(lequal(local(1), integer(PRT_SCI_ENTRY)), store(prtEntry("LNKS"), local(4))),
                                AmlOps.elseDo(store(prtEntry("LNKA"), local(4)))),
                        ifThen(lequal(local(3), integer(2)), store(prtEntry("LNKB"), local(4))),
                        ifThen(lequal(local(3), integer(3)), store(prtEntry("LNKC"), local(4))),
                        store(AmlOps.or(AmlOps.shiftLeft(local(2), integer(16), NULL_TARGET), integer(0xffff),
                                NULL_TARGET), index(local(4), integer(0), NULL_TARGET)),
                        store(AmlOps.and(local(1), integer(3), NULL_TARGET), index(local(4), integer(1), NULL_TARGET)),
                        store(local(4), index(local(0), local(1), NULL_TARGET)),
                        AmlOps.increment(local(1))),
                Aml.ret(local(0)));
        List<byte[]> sb = new ArrayList<>();
        sb.add(Aml.scope("PCI0", prt));
        sb.add(Aml.method("IQST", 1, false,
                ifThen(AmlOps.and(integer(PIRQ_DISABLED), arg(0), NULL_TARGET), Aml.ret(integer(LINK_STA_DISABLED))),
                Aml.ret(integer(STA_HIDDEN))));
        sb.add(Aml.method("IQCR", 1, true,
                nameDecl("PRR0", Aml.resourceTemplate(Aml.interruptLevelShared(0))),
                AmlOps.createDWordField(name("PRR0"), integer(INTERRUPT_NUMBER_OFFSET), "PRRI"),
                ifThen(lless(arg(0), integer(PIRQ_DISABLED)), store(arg(0), name("PRRI"))),
                Aml.ret(name("PRR0"))));
        for (int i = 0; i < 4; i++) {
            String prq = "PRQ" + i;
            sb.add(Aml.device("LNK" + (char) ('A' + i),
                    nameDecl("_HID", Aml.hid("PNP0C0F")),
                    nameDecl("_UID", integer(i)),
                    nameDecl("_PRS", Aml.resourceTemplate(Aml.interruptLevelShared(LINK_IRQS))),
                    Aml.method("_STA", 0, false, Aml.ret(call("IQST", name(prq)))),
                    Aml.method("_DIS", 0, false, AmlOps.or(name(prq), integer(PIRQ_DISABLED), name(prq))),
                    Aml.method("_CRS", 0, false, Aml.ret(call("IQCR", name(prq)))),
                    Aml.method("_SRS", 1, false,
                            AmlOps.createDWordField(arg(0), integer(INTERRUPT_NUMBER_OFFSET), "PRRI"),
                            store(name("PRRI"), name(prq)))));
        }
        sb.add(Aml.device("LNKS",
                nameDecl("_HID", Aml.hid("PNP0C0F")),
                nameDecl("_UID", integer(4)),
                nameDecl("_PRS", Aml.resourceTemplate(Aml.interruptLevelShared(SCI_IRQ))),
                Aml.method("_STA", 0, false, Aml.ret(integer(STA_HIDDEN))),
                Aml.method("_DIS", 0, false),
                Aml.method("_CRS", 0, false, Aml.ret(name("_PRS"))),
                Aml.method("_SRS", 1, false)));
        return Aml.scope("_SB", sb.toArray(new byte[0][]));
    }

    private static byte[] prtEntry(String link) {
        return Aml.pkg(integer(0), integer(0), name(link), integer(0));
    }

    /** Section 6.2.2 host bridge windows: bus 0-255, config ports, I/O around them, VGA, the PCI holes. */
    private static byte[] hostBridgeResources(AcpiConfig cfg) {
        List<byte[]> res = new ArrayList<>();
        res.add(Aml.wordBusNumber(0, 0xff));
        res.add(Aml.io(0xcf8, 0xcf8, 1, 8));
        res.add(Aml.wordIo(0x0000, 0x0cf7));
        res.add(Aml.wordIo(0x0d00, 0xffff));
        res.add(Aml.dwordMemory(0xa0000, 0xbffff, true));
        if (cfg.pciHoleEnd() > cfg.pciHoleStart()) {
            res.add(Aml.dwordMemory(cfg.pciHoleStart(), cfg.pciHoleEnd() - 1, false));
        }
        if (cfg.pciHole64End() > cfg.pciHole64Start()) {
            res.add(Aml.qwordMemory(cfg.pciHole64Start(), cfg.pciHole64End() - 1));
        }
        return Aml.resourceTemplate(res.toArray(new byte[0][]));
    }

    /** A PNP0A06 container claiming an I/O range, hidden from the UI. */
    private static byte[] resourceDevice(String name, String uid, int base, int length) {
        return Aml.device(name,
                nameDecl("_HID", Aml.string("PNP0A06")),
                nameDecl("_UID", Aml.string(uid)),
                nameDecl("_STA", integer(STA_HIDDEN)),
                nameDecl("_CRS", Aml.resourceTemplate(Aml.io(base, base, 1, length))));
    }

    /** Scope(\) { [_S3] [_S4] _S5 }: section 7.4.2 {PM1a SLP_TYP, PM1b SLP_TYP, reserved, reserved}. */
    private static byte[] sleepStates(AcpiConfig cfg) {
        List<byte[]> s = new ArrayList<>();
        if (cfg.s3()) {
            s.add(sleepState("_S3", 1));
        }
        if (cfg.s4Val() != 0) {
            s.add(sleepState("_S4", cfg.s4Val()));
        }
        s.add(sleepState("_S5", 0));
        return Aml.scope("\\", s.toArray(new byte[0][]));
    }

    private static byte[] sleepState(String name, int slpTyp) {
        return nameDecl(name, Aml.pkg(integer(slpTyp), integer(slpTyp), integer(0), integer(0)));
    }
}
