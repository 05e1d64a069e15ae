package dev.jvmm.devices.acpi;

import java.util.ArrayList;
import java.util.List;

import static dev.jvmm.devices.acpi.Aml.integer;
import static dev.jvmm.devices.acpi.Aml.name;
import static dev.jvmm.devices.acpi.Aml.nameDecl;
import static dev.jvmm.devices.acpi.AmlOps.NULL_TARGET;
import static dev.jvmm.devices.acpi.AmlOps.WAIT_FOREVER;
import static dev.jvmm.devices.acpi.AmlOps.acquire;
import static dev.jvmm.devices.acpi.AmlOps.arg;
import static dev.jvmm.devices.acpi.AmlOps.call;
import static dev.jvmm.devices.acpi.AmlOps.ifThen;
import static dev.jvmm.devices.acpi.AmlOps.lequal;
import static dev.jvmm.devices.acpi.AmlOps.lless;
import static dev.jvmm.devices.acpi.AmlOps.local;
import static dev.jvmm.devices.acpi.AmlOps.release;
import static dev.jvmm.devices.acpi.AmlOps.store;

/**
 * The DSDT's CPU hotplug description as QEMU 7.2's pc machine builds it (the "modern" interface of its
 * hw/acpi/cpu.c, behind PIIX4 PM): \_SB.PCI0.PRES, the register block at {@link #IO_BASE} (selector, flags,
 * command, data), and \_SB.CPUS, a processor container with one Processor object per possible vCPU, whose
 * _STA, _EJ0 and _OST go through that block, plus \_GPE._E02 to scan it. jvmm does not implement the block
 * (the ports read all ones), so a guest that evaluates _STA sees bit CPEN set and keeps its CPUs; see
 * DESIGN.md.
 */
final class CpuHotplugAml {
    /** QEMU's ACPI_CPU_HOTPLUG_IO_BASE and the length of the modern block. */
    static final int IO_BASE = 0xaf00;
    static final int IO_LENGTH = 0x0c;
    /** Byte offsets in the block: flags, command, data. */
    static final int FLAGS_OFFSET = 4;
    static final int COMMAND_OFFSET = 5;
    static final int DATA_OFFSET = 8;
    /** Commands: get next CPU with an event, select _OST event, select _OST status. */
    static final int CMD_GET_NEXT_EVENT = 0;
    static final int CMD_OST_EVENT = 1;
    static final int CMD_OST_STATUS = 2;
    /** Notify values: device check (1) and eject request (3). */
    static final int NOTIFY_CHECK = 1;
    static final int NOTIFY_EJECT = 3;
    /** CSCN records at most this many inserted CPUs per pass. */
    static final int MAX_NEW = 0xff;
    static final int STA_PRESENT = 0x0f;

    private static final String PRES = "\\_SB.PCI0.PRES";
    private static final String LOCK = PRES + ".CPLK";
    private static final String CSEL = PRES + ".CSEL";
    private static final String CCMD = PRES + ".CCMD";
    private static final String CDAT = PRES + ".CDAT";

    private CpuHotplugAml() {
    }

    /** Scope(_SB) { PRES, CPUS } and Method(\_GPE._E02), for these possible APIC ids (boot CPU first). */
    static byte[] build(List<Integer> possibleApicIds) {
        return build(possibleApicIds, false);
    }

    /**
     * The same, with each Processor's _PXM (node 0) when the machine has a NUMA node: QEMU's pc makes one
     * by itself for memory devices (maxmem above the RAM size).
     */
    static byte[] build(List<Integer> possibleApicIds, boolean proximity) {
        byte[] sb = Aml.scope("_SB", registers(), container(possibleApicIds, proximity));
        byte[] gpe = Aml.method("\\_GPE._E02", 0, false, call("\\_SB.CPUS.CSCN"));
        return Aml.concat(sb, gpe);
    }

    private static byte[] registers() {
        return Aml.device(PRES,
                nameDecl("_HID", Aml.hid("PNP0A06")),
                nameDecl("_UID", Aml.string("CPU Hotplug resources")),
                AmlOps.mutex("CPLK", 0),
                nameDecl("_CRS", Aml.resourceTemplate(Aml.io(IO_BASE, IO_BASE, 1, IO_LENGTH))),
                AmlOps.operationRegion("PRST", AmlOps.SYSTEM_IO, IO_BASE, IO_LENGTH),
                AmlOps.field("PRST", AmlOps.BYTE_ACC | AmlOps.WRITE_AS_ZEROS,
                        AmlOps.reserved(FLAGS_OFFSET * 8),
                        AmlOps.unit("CPEN", 1), AmlOps.unit("CINS", 1), AmlOps.unit("CRMV", 1),
                        AmlOps.unit("CEJ0", 1), AmlOps.unit("CEJF", 1),
                        AmlOps.reserved(3),
                        AmlOps.unit("CCMD", 8)),
                AmlOps.field("PRST", AmlOps.DWORD_ACC | AmlOps.PRESERVE,
                        AmlOps.unit("CSEL", 32),
                        AmlOps.reserved((DATA_OFFSET - 4) * 8),
                        AmlOps.unit("CDAT", 32)),
                Aml.method("_INI", 0, true, store(integer(0), name("CSEL"))));
    }

    private static String cpuName(int i) {
        return String.format("C%03X", i);
    }

    private static byte[] container(List<Integer> apicIds, boolean proximity) {
        int n = apicIds.size();
        List<byte[]> terms = new ArrayList<>();
        terms.add(nameDecl("_HID", Aml.string("ACPI0010")));
        terms.add(nameDecl("_CID", Aml.hid("PNP0A05")));
        List<byte[]> notifies = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            notifies.add(ifThen(lequal(arg(0), integer(i)), AmlOps.notify(name(cpuName(i)), arg(1))));
        }
        terms.add(Aml.method("CTFY", 2, false, notifies.toArray(new byte[0][])));
        terms.add(Aml.method("CSTA", 1, true,
                acquire(LOCK, WAIT_FOREVER),
                store(arg(0), name(CSEL)),
                store(integer(0), local(0)),
                ifThen(lequal(name(PRES + ".CPEN"), integer(1)), store(integer(STA_PRESENT), local(0))),
                release(LOCK),
                Aml.ret(local(0))));
        terms.add(Aml.method("CEJ0", 1, true,
                acquire(LOCK, WAIT_FOREVER),
                store(arg(0), name(CSEL)),
                store(integer(1), name(PRES + ".CEJ0")),
                release(LOCK)));
        terms.add(scanMethod(n));
        terms.add(Aml.method("COST", 4, true,
                acquire(LOCK, WAIT_FOREVER),
                store(arg(0), name(CSEL)),
                store(integer(CMD_OST_EVENT), name(CCMD)),
                store(arg(1), name(CDAT)),
                store(integer(CMD_OST_STATUS), name(CCMD)),
                store(arg(2), name(CDAT)),
                release(LOCK)));
        for (int i = 0; i < n; i++) {
            terms.add(processor(i, apicIds.get(i), proximity));
        }
        return Aml.device("\\_SB.CPUS", terms.toArray(new byte[0][]));
    }

    /**
     * CSCN: walks the CPUs with pending events (command 0 selects the next one at or after CSEL), collects
     * inserted ones in CNEW, notifies removals at once and insertions after the walk, clearing each event.
     */
    private static byte[] scanMethod(int cpus) {
        byte[] one = integer(1);
        byte[] zero = integer(0);
        byte[] walk = AmlOps.whileDo(AmlOps.land(lequal(local(0), one), lless(local(3), integer(cpus))),
                store(zero, local(0)),
                store(local(3), name(CSEL)),
                store(integer(CMD_GET_NEXT_EVENT), name(CCMD)),
                ifThen(lless(name(CDAT), local(3)), AmlOps.breakOp()),
                ifThen(lequal(local(1), integer(MAX_NEW)), store(one, local(4)), AmlOps.breakOp()),
                store(name(CDAT), local(3)),
                ifThen(lequal(name(PRES + ".CINS"), one),
                        store(local(3), AmlOps.index(name("CNEW"), local(1), NULL_TARGET)),
                        AmlOps.increment(local(1)),
                        store(one, local(0))),
                AmlOps.elseDo(ifThen(lequal(name(PRES + ".CRMV"), one),
                        call("CTFY", local(3), integer(NOTIFY_EJECT)),
                        store(one, name(PRES + ".CRMV")),
                        store(one, local(0)))),
                AmlOps.increment(local(3)));
        byte[] notifyNew = AmlOps.whileDo(lless(local(2), local(1)),
                store(AmlOps.derefOf(AmlOps.index(name("CNEW"), local(2), NULL_TARGET)), local(3)),
                call("CTFY", local(3), integer(NOTIFY_CHECK)),
                store(local(3), AmlOps.debug()),
                store(local(3), name(CSEL)),
                store(one, name(PRES + ".CINS")),
                AmlOps.increment(local(2)));
        return Aml.method("CSCN", 0, true,
                acquire(LOCK, WAIT_FOREVER),
                nameDecl("CNEW", AmlOps.emptyPackage(MAX_NEW)),
                store(zero, local(3)),
                store(one, local(4)),
                AmlOps.whileDo(lequal(local(4), one),
                        store(zero, local(4)),
                        store(one, local(0)),
                        store(zero, local(1)),
                        walk,
                        store(zero, local(2)),
                        notifyNew),
                release(LOCK));
    }

    /** Processor(Cnnn, uid) with _STA, the MADT entry it would have as _MAT, _EJ0 (not the boot CPU), _OST. */
    private static byte[] processor(int uid, int apicId, boolean proximity) {
        byte[] mat = {(byte) AcpiTables.MADT_TYPE_LOCAL_APIC, 8, (byte) uid, (byte) apicId,
                (byte) AcpiTables.LOCAL_APIC_ENABLED, 0, 0, 0};
        List<byte[]> terms = new ArrayList<>();
        terms.add(Aml.method("_STA", 0, true, Aml.ret(call("CSTA", integer(uid)))));
        terms.add(nameDecl("_MAT", Aml.buffer(mat)));
        if (uid != 0) {
            terms.add(Aml.method("_EJ0", 1, false, call("CEJ0", integer(uid))));
        }
        terms.add(Aml.method("_OST", 3, true, call("COST", integer(uid), arg(0), arg(1), arg(2))));
        if (proximity) {
            terms.add(nameDecl("_PXM", integer(0)));
        }
        return AmlOps.processor(cpuName(uid), uid, 0, 0, terms.toArray(new byte[0][]));
    }
}
