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
import static dev.jvmm.devices.acpi.AmlOps.derefOf;
import static dev.jvmm.devices.acpi.AmlOps.ifThen;
import static dev.jvmm.devices.acpi.AmlOps.index;
import static dev.jvmm.devices.acpi.AmlOps.lequal;
import static dev.jvmm.devices.acpi.AmlOps.lnot;
import static dev.jvmm.devices.acpi.AmlOps.local;
import static dev.jvmm.devices.acpi.AmlOps.release;
import static dev.jvmm.devices.acpi.AmlOps.shiftLeft;
import static dev.jvmm.devices.acpi.AmlOps.store;

/**
 * The DSDT's ACPI PCI hotplug description of bus 0 as QEMU 7.2's pc machine builds it (hw/acpi/pcihp.c
 * and acpi-build.c's bus walk, behind PIIX4 PM): the register block at {@link #IO_BASE} (up/down bitmaps,
 * eject, bus select, slot index), PCEJ/AIDX/PDSM, one device per slot (S00, S08, S10 ... SF8) with _DSM and,
 * for slots 2-31, _SUN and _EJ0, the DVNT/PCNT notifier and \_GPE._E01. jvmm does not implement the block
 * (see DESIGN.md): reads give all ones, so PCNT would notify every slot; nothing raises GPE bit 1.
 */
final class PciHotplugAml {
    /** QEMU's ACPI_PCIHP_ADDR_PIIX4 and ACPI_PCIHP_SIZE. */
    static final int IO_BASE = 0xae00;
    static final int IO_LENGTH = 0x18;
    static final int EJECT_OFFSET = 0x08;
    static final int BNUM_OFFSET = 0x10;
    /** Slot 0 is the host bridge, slot 1 the PIIX3 (with the ISA devices); neither is hotpluggable. */
    static final int ISA_BRIDGE_SLOT = 1;
    static final int FIRST_HOTPLUG_SLOT = 2;
    static final int SLOTS = 32;
    /** PIIX3's PIRQRC[A-D] routing registers in its configuration space. */
    static final int PIRQ_ROUTE_CONFIG = 0x60;
    /** Section 9.1.1 Device Labeling Interface _DSM UUID, and its function indices. */
    static final String DSM_LABEL_UUID = "e5c937d0-3553-4d7a-9117-ea4d19c3434d";
    static final int DSM_QUERY = 0;
    static final int DSM_LABEL = 7;
    static final int DSM_MIN_REVISION = 2;
    static final long AIDX_NONE = 0xffffffffL;
    /** Notify values: device check (1) for inserted, eject request (3) for removed. */
    static final int NOTIFY_CHECK = 1;
    static final int NOTIFY_EJECT = 3;

    private PciHotplugAml() {
    }

    /** Scope(_SB.PCI0): the register block, BLCK and the methods every slot device calls. */
    static byte[] registers() {
        int fieldFlags = AmlOps.DWORD_ACC | AmlOps.WRITE_AS_ZEROS;
        return Aml.scope("_SB.PCI0",
                AmlOps.operationRegion("PCST", AmlOps.SYSTEM_IO, IO_BASE, 8),
                AmlOps.field("PCST", fieldFlags, AmlOps.unit("PCIU", 32), AmlOps.unit("PCID", 32)),
                AmlOps.operationRegion("SEJ", AmlOps.SYSTEM_IO, IO_BASE + EJECT_OFFSET, 4),
                AmlOps.field("SEJ", fieldFlags, AmlOps.unit("B0EJ", 32)),
                AmlOps.operationRegion("BNMR", AmlOps.SYSTEM_IO, IO_BASE + BNUM_OFFSET, 8),
                AmlOps.field("BNMR", fieldFlags, AmlOps.unit("BNUM", 32), AmlOps.unit("PIDX", 32)),
                AmlOps.mutex("BLCK", 0),
                Aml.method("PCEJ", 2, false,
                        acquire("BLCK", WAIT_FOREVER),
                        store(arg(0), name("BNUM")),
                        store(shiftLeft(integer(1), arg(1), NULL_TARGET), name("B0EJ")),
                        release("BLCK"),
                        Aml.ret(integer(0))),
                Aml.method("AIDX", 2, false,
                        acquire("BLCK", WAIT_FOREVER),
                        store(arg(0), name("BNUM")),
                        store(shiftLeft(integer(1), arg(1), NULL_TARGET), name("PIDX")),
                        store(name("PIDX"), local(0)),
                        release("BLCK"),
                        Aml.ret(local(0))),
                labelDsm());
    }

    /** PDSM(uuid, revision, function, args, {BSEL, ASUN}): the Device Labeling Interface via AIDX. */
    private static byte[] labelDsm() {
        byte[] aidx = store(call("AIDX", derefOf(index(arg(4), integer(0), NULL_TARGET)),
                derefOf(index(arg(4), integer(1), NULL_TARGET))), local(2));
        byte[] query = ifThen(lequal(arg(2), integer(DSM_QUERY)),
                store(Aml.buffer(new byte[1]), local(0)),
                store(integer(0), local(1)),
                ifThen(lnot(lequal(arg(0), Aml.uuid(DSM_LABEL_UUID))), Aml.ret(local(0))),
                ifThen(AmlOps.lless(arg(1), integer(DSM_MIN_REVISION)), Aml.ret(local(0))),
                aidx,
                ifThen(lnot(AmlOps.or(lequal(local(2), integer(0)), lequal(local(2), integer(AIDX_NONE)),
                                NULL_TARGET)),
                        AmlOps.or(local(1), integer(1), local(1)),
                        AmlOps.or(local(1), shiftLeft(integer(1), integer(DSM_LABEL), NULL_TARGET), local(1))),
                store(local(1), index(local(0), integer(0), NULL_TARGET)),
                Aml.ret(local(0)));
        byte[] label = ifThen(lequal(arg(2), integer(DSM_LABEL)),
                aidx,
                store(AmlOps.emptyPackage(2), local(0)),
                ifThen(lnot(AmlOps.lor(lequal(local(2), integer(0)), lequal(local(2), integer(AIDX_NONE)))),
                        store(local(2), index(local(0), integer(0), NULL_TARGET)),
                        store(Aml.string(""), index(local(0), integer(1), NULL_TARGET))),
                Aml.ret(local(0)));
        return Aml.method("PDSM", 5, true, query, label);
    }

    /**
     * Scope(\_SB) { Scope(PCI0) { BSEL, the slot devices, DVNT, PCNT } }, with the ISA devices inside the
     * ISA bridge's slot device.
     */
    static byte[] slots(byte[] isaBridgeTerms) {
        List<byte[]> terms = new ArrayList<>();
        terms.add(nameDecl("BSEL", integer(0)));
        List<byte[]> notifies = new ArrayList<>();
        for (int slot = 0; slot < SLOTS; slot++) {
            String dev = String.format("S%02X", slot << 3);
            List<byte[]> d = new ArrayList<>();
            d.add(nameDecl("_ADR", integer((long) slot << 16)));
            d.add(nameDecl("ASUN", integer(slot)));
            d.add(Aml.method("_DSM", 4, true,
                    store(Aml.pkg(name("BSEL"), name("ASUN")), local(0)),
                    Aml.ret(call("PDSM", arg(0), arg(1), arg(2), arg(3), local(0)))));
            if (slot == ISA_BRIDGE_SLOT) {
                d.add(isaBridgeTerms);
            } else if (slot >= FIRST_HOTPLUG_SLOT) {
                d.add(nameDecl("_SUN", integer(slot)));
                d.add(Aml.method("_EJ0", 1, false, call("PCEJ", name("BSEL"), name("_SUN"))));
                notifies.add(ifThen(AmlOps.and(arg(0), integer(1L << slot), NULL_TARGET),
                        AmlOps.notify(name(dev), arg(1))));
            }
            terms.add(Aml.device(dev, d.toArray(new byte[0][])));
        }
        terms.add(Aml.method("DVNT", 2, false, notifies.toArray(new byte[0][])));
        terms.add(Aml.method("PCNT", 0, false,
                store(integer(0), name("BNUM")),
                call("DVNT", name("PCIU"), integer(NOTIFY_CHECK)),
                call("DVNT", name("PCID"), integer(NOTIFY_EJECT))));
        return Aml.scope("\\_SB", Aml.scope("PCI0", terms.toArray(new byte[0][])));
    }

    /**
     * pci.0 without hotplug (acpi-root-pci-hotplug=off): a device with _ADR for each slot whose function 0
     * is present, the ISA bridge's with its ISA devices, and an empty PCNT while \_GPE._E01 calls it.
     */
    static byte[] presentSlots(byte[] isaBridgeTerms, List<Integer> present, boolean withPcnt) {
        List<byte[]> terms = new ArrayList<>();
        for (int slot : present.stream().sorted().toList()) {
            List<byte[]> d = new ArrayList<>();
            d.add(nameDecl("_ADR", integer((long) slot << 16)));
            if (slot == ISA_BRIDGE_SLOT) {
                d.add(isaBridgeTerms);
            }
            terms.add(Aml.device(String.format("S%02X", slot << 3), d.toArray(new byte[0][])));
        }
        if (withPcnt) {
            terms.add(Aml.method("PCNT", 0, false));
        }
        return Aml.scope("\\_SB", Aml.scope("PCI0", terms.toArray(new byte[0][])));
    }

    /** The ISA bridge's PIRQ routing registers, as fields PRQ0-3 in \_SB for the link devices. */
    static byte[] pirqRouteFields() {
        return Aml.concat(AmlOps.operationRegion("P40C", AmlOps.PCI_CONFIG, PIRQ_ROUTE_CONFIG, 4),
                Aml.scope("\\_SB", AmlOps.field("PCI0.S08.P40C", AmlOps.BYTE_ACC | AmlOps.PRESERVE,
                        AmlOps.unit("PRQ0", 8), AmlOps.unit("PRQ1", 8), AmlOps.unit("PRQ2", 8),
                        AmlOps.unit("PRQ3", 8))));
    }

    /** Method(_E01) in \_GPE: GPE bit 1 is PIIX4's PCI hotplug event. */
    static byte[] gpeHandler() {
        return Aml.scope("_GPE", Aml.method("_E01", 0, false,
                acquire("\\_SB.PCI0.BLCK", WAIT_FOREVER),
                call("\\_SB.PCI0.PCNT"),
                release("\\_SB.PCI0.BLCK")));
    }
}
