package dev.jvmm.devices.acpi;

import java.util.ArrayList;
import java.util.List;

import static dev.jvmm.devices.acpi.Aml.integer;
import static dev.jvmm.devices.acpi.Aml.name;
import static dev.jvmm.devices.acpi.Aml.nameDecl;
import static dev.jvmm.devices.acpi.AmlOps.NULL_TARGET;
import static dev.jvmm.devices.acpi.AmlOps.WAIT_FOREVER;
import static dev.jvmm.devices.acpi.AmlOps.acquire;
import static dev.jvmm.devices.acpi.AmlOps.add;
import static dev.jvmm.devices.acpi.AmlOps.arg;
import static dev.jvmm.devices.acpi.AmlOps.call;
import static dev.jvmm.devices.acpi.AmlOps.createDWordField;
import static dev.jvmm.devices.acpi.AmlOps.ifThen;
import static dev.jvmm.devices.acpi.AmlOps.lequal;
import static dev.jvmm.devices.acpi.AmlOps.lless;
import static dev.jvmm.devices.acpi.AmlOps.local;
import static dev.jvmm.devices.acpi.AmlOps.release;
import static dev.jvmm.devices.acpi.AmlOps.store;
import static dev.jvmm.devices.acpi.AmlOps.subtract;

/**
 * QEMU 7.2's memory hotplug AML (hw/acpi/memory_hotplug.c build_memory_hotplug_aml) for the registers at
 * {@link MemoryHotplugRegisters#IO_BASE}: the \_SB.PCI0.MHPD resource device, the \_SB.MHPC container with
 * one MPxx memory device per slot and its helper methods, and \_GPE._E03, which scans the slots. Emitted
 * only with -m slots= above 0, as QEMU does.
 */
final class MemoryHotplugAml {
    private MemoryHotplugAml() {
    }

    private static final String MHPD = "\\_SB.PCI0.MHPD";
    private static final String REGION = MHPD + ".HPMR";
    private static final String LOCK = "MLCK";
    /** Section 6.3.5 notify values: device check, eject request. */
    static final int NOTIFY_CHECK = 1;
    static final int NOTIFY_EJECT = 3;
    static final int STA_PRESENT = 0x0f;
    static final int STA_CONTAINER = 0x0b;
    /** Byte offsets of the QWordMemory and DWordMemory descriptors' fields (minimum, maximum, length). */
    static final int QWORD_MIN = 14;
    static final int QWORD_MAX = 22;
    static final int QWORD_LEN = 38;
    static final int DWORD_MIN = 10;
    static final int DWORD_MAX = 14;
    static final int DWORD_LEN = 22;

    static byte[] build(int slots) {
        byte[] res = Aml.device(MHPD,
                nameDecl("_HID", Aml.string("PNP0A06")),
                nameDecl("_UID", Aml.string("Memory hotplug resources")),
                nameDecl("_CRS", Aml.resourceTemplate(Aml.io(MemoryHotplugRegisters.IO_BASE,
                        MemoryHotplugRegisters.IO_BASE, 0, MemoryHotplugRegisters.IO_LENGTH))),
                AmlOps.operationRegion("HPMR", AmlOps.SYSTEM_IO, MemoryHotplugRegisters.IO_BASE,
                        MemoryHotplugRegisters.IO_LENGTH));
        byte[] gpe = Aml.method("\\_GPE._E03", 0, false, call("\\_SB.MHPC.MSCN"));
        return Aml.concat(res, container(slots), gpe);
    }

    private static byte[] toInteger(byte[] v) {
        return AmlOps.op(0x99, v, NULL_TARGET);
    }

    /** Acquire, select the slot Arg0 names, the given terms, Release. */
    private static byte[][] selected(byte[]... terms) {
        List<byte[]> t = new ArrayList<>();
        t.add(acquire(LOCK, WAIT_FOREVER));
        t.add(store(toInteger(arg(0)), name("MSEL")));
        t.addAll(List.of(terms));
        t.add(release(LOCK));
        return t.toArray(new byte[0][]);
    }

    private static byte[] container(int slots) {
        byte[] zero = integer(0);
        byte[] one = integer(1);
        List<byte[]> t = new ArrayList<>();
        t.add(nameDecl("_HID", Aml.string("PNP0A06")));
        t.add(nameDecl("_UID", Aml.string("DIMM devices")));
        t.add(nameDecl("MDNR", integer(slots)));
        t.add(AmlOps.field(REGION, AmlOps.DWORD_ACC | AmlOps.PRESERVE,
                AmlOps.unit("MRBL", 32), AmlOps.unit("MRBH", 32), AmlOps.unit("MRLL", 32),
                AmlOps.unit("MRLH", 32), AmlOps.unit("MPX_", 32)));
        t.add(AmlOps.field(REGION, AmlOps.BYTE_ACC | AmlOps.WRITE_AS_ZEROS,
                AmlOps.reserved(0x14 * 8),
                AmlOps.unit("MES_", 1), AmlOps.unit("MINS", 1), AmlOps.unit("MRMV", 1), AmlOps.unit("MEJ_", 1)));
        t.add(AmlOps.field(REGION, AmlOps.DWORD_ACC | AmlOps.PRESERVE,
                AmlOps.unit("MSEL", 32), AmlOps.unit("MOEV", 32), AmlOps.unit("MOSC", 32)));
        t.add(Aml.method("_STA", 0, false,
                ifThen(lequal(name("MDNR"), zero), Aml.ret(zero)),
                Aml.ret(integer(STA_CONTAINER))));
        t.add(AmlOps.mutex(LOCK, 0));
        t.add(Aml.method("MSCN", 0, false,
                ifThen(lequal(name("MDNR"), zero), Aml.ret(zero)),
                store(zero, local(0)),
                acquire(LOCK, WAIT_FOREVER),
                AmlOps.whileDo(lless(local(0), name("MDNR")),
                        store(local(0), name("MSEL")),
                        ifThen(lequal(name("MINS"), one),
                                call("MTFY", local(0), integer(NOTIFY_CHECK)),
                                store(one, name("MINS"))),
                        AmlOps.elseDo(ifThen(lequal(name("MRMV"), one),
                                call("MTFY", local(0), integer(NOTIFY_EJECT)),
                                store(one, name("MRMV")))),
                        add(local(0), one, local(0))),
                release(LOCK),
                Aml.ret(one)));
        t.add(Aml.method("MRST", 1, false,
                store(zero, local(0)),
                acquire(LOCK, WAIT_FOREVER),
                store(toInteger(arg(0)), name("MSEL")),
                ifThen(lequal(name("MES_"), one), store(integer(STA_PRESENT), local(0))),
                release(LOCK),
                Aml.ret(local(0))));
        t.add(crsMethod());
        t.add(Aml.method("MPXM", 1, false, Aml.concat(selected(store(name("MPX_"), local(0)))),
                Aml.ret(local(0))));
        t.add(Aml.method("MOST", 4, false, selected(store(arg(1), name("MOEV")), store(arg(2), name("MOSC")))));
        t.add(Aml.method("MEJ0", 2, false, selected(store(one, name("MEJ_")))));
        for (int i = 0; i < slots; i++) {
            t.add(slotDevice(i));
        }
        List<byte[]> notifies = new ArrayList<>();
        for (int i = 0; i < slots; i++) {
            notifies.add(ifThen(lequal(arg(0), integer(i)), AmlOps.notify(name(slotName(i)), arg(1))));
        }
        t.add(Aml.method("MTFY", 2, false, notifies.toArray(new byte[0][])));
        return Aml.device("\\_SB.MHPC", t.toArray(new byte[0][]));
    }

    private static String slotName(int i) {
        return String.format("MP%02X", i);
    }

    /** MCRS: the selected DIMM's range as a QWordMemory, or a DWordMemory when it ends below 4 GiB. */
    private static byte[] crsMethod() {
        byte[] one = integer(1);
        byte[] mr64 = name("MR64");
        byte[] mr32 = name("MR32");
        return Aml.method("MCRS", 1, true,
                acquire(LOCK, WAIT_FOREVER),
                store(toInteger(arg(0)), name("MSEL")),
                nameDecl("MR64", Aml.resourceTemplate(Aml.qwordMemory(0, 0xFFFFFFFFFFFFFFFEL))),
                createDWordField(mr64, integer(QWORD_MIN), "MINL"),
                createDWordField(mr64, integer(QWORD_MIN + 4), "MINH"),
                createDWordField(mr64, integer(QWORD_LEN), "LENL"),
                createDWordField(mr64, integer(QWORD_LEN + 4), "LENH"),
                createDWordField(mr64, integer(QWORD_MAX), "MAXL"),
                createDWordField(mr64, integer(QWORD_MAX + 4), "MAXH"),
                store(name("MRBH"), name("MINH")),
                store(name("MRBL"), name("MINL")),
                store(name("MRLH"), name("LENH")),
                store(name("MRLL"), name("LENL")),
                add(name("MINL"), name("LENL"), name("MAXL")),
                add(name("MINH"), name("LENH"), name("MAXH")),
                ifThen(lless(name("MAXL"), name("MINL")), add(name("MAXH"), one, name("MAXH"))),
                ifThen(lless(name("MAXL"), one), subtract(name("MAXH"), one, name("MAXH"))),
                subtract(name("MAXL"), one, name("MAXL")),
                ifThen(lequal(name("MAXH"), integer(0)),
                        nameDecl("MR32", Aml.resourceTemplate(Aml.dwordMemory(0, 0xFFFFFFFEL, true))),
                        createDWordField(mr32, integer(DWORD_MIN), "MIN_"),
                        createDWordField(mr32, integer(DWORD_MAX), "MAX_"),
                        createDWordField(mr32, integer(DWORD_LEN), "LEN_"),
                        store(name("MINL"), name("MIN_")),
                        store(name("MAXL"), name("MAX_")),
                        store(name("LENL"), name("LEN_")),
                        release(LOCK),
                        Aml.ret(mr32)),
                release(LOCK),
                Aml.ret(mr64));
    }

    private static byte[] slotDevice(int i) {
        byte[] uid = name("_UID");
        return Aml.device(slotName(i),
                nameDecl("_UID", Aml.string(String.format("0x%02X", i))),
                nameDecl("_HID", Aml.hid("PNP0C80")),
                Aml.method("_CRS", 0, false, Aml.ret(call("MCRS", uid))),
                Aml.method("_STA", 0, false, Aml.ret(call("MRST", uid))),
                Aml.method("_PXM", 0, false, Aml.ret(call("MPXM", uid))),
                Aml.method("_OST", 3, false, call("MOST", uid, arg(0), arg(1), arg(2))),
                Aml.method("_EJ0", 1, false, call("MEJ0", uid, arg(0))));
    }
}
