package dev.jvmm.devices.pci;

import dev.jvmm.core.machine.PciBusInfo;
import dev.jvmm.core.machine.PciDeviceInfo;
import dev.jvmm.core.machine.PciRegionInfo;
import dev.jvmm.core.vmstate.Saveable;
import dev.jvmm.core.vmstate.StateException;
import dev.jvmm.core.vmstate.StateReader;
import dev.jvmm.core.vmstate.StateWriter;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * PCI Local Bus Specification 3.0, section 3.2.2.3: PCI bus 0 with 32 device slots of up to 8 functions.
 * Dispatches configuration accesses by device/function, keeps each function's BARs mapped where COMMAND
 * and the BAR registers say (QEMU's pci_update_mappings), wires INTx through a {@link PciInterruptRouter},
 * and answers query-pci. Accesses arrive on vCPU threads; one lock per bus orders them.
 */
public final class PciBus implements Saveable {
    public static final int SLOTS = 32;
    public static final int FUNCTIONS = 8;
    /** QEMU's PCI_BAR_UNMAPPED, also query-pci's address of an undecoded BAR. */
    public static final long UNMAPPED = -1;

    /** SeaBIOS (pciinit.c) on QEMU's pc machine: I/O BARs from 0xc000 up. */
    public static final int FIRMWARE_IO_BASE = 0xc000;
    /** SeaBIOS: the 32-bit memory window ends below the IOAPIC at 0xfec00000; BARs are packed under it. */
    public static final long FIRMWARE_MEM_END = 0xfec0_0000L;
    /** SeaBIOS's PCI_DEVICE_MEM_MIN: memory BARs take at least one page. */
    public static final long FIRMWARE_MEM_MIN = 0x1000;
    /** SeaBIOS enables these COMMAND bits on every function it initialises. */
    public static final int FIRMWARE_COMMAND = PciConfigSpace.COMMAND_IO | PciConfigSpace.COMMAND_MEMORY
            | PciConfigSpace.COMMAND_SERR;

    private static final long PHYS_ADDR_LIMIT = 1L << 52;
    private static final int HEADER_END_OF_BARS = PciConfigSpace.BAR0 + 24;
    /** BAR registers per function: the six BARs and the expansion ROM. */
    private static final int REGIONS = PciBar.ROM_SLOT + 1;

    private final PciInterruptRouter router;
    private final BarMapper mapper;
    private final PciFunction[] functions = new PciFunction[SLOTS * FUNCTIONS];
    private final IntxLine[] intx = new IntxLine[SLOTS * FUNCTIONS];
    /** Per devfn: "TYPE,id=ID" of the device there, as QEMU names an occupied place's owner. */
    private final String[] owners = new String[SLOTS * FUNCTIONS];
    /** Per devfn, per BAR index: where the handler is registered now, or UNMAPPED. */
    private final long[][] mappedAt = new long[SLOTS * FUNCTIONS][];
    /** Per devfn, per BAR index: the decoded address (QEMU's io_regions[i].addr), even if mapping failed. */
    private final long[][] decodedAt = new long[SLOTS * FUNCTIONS][];

    public PciBus(PciInterruptRouter router, BarMapper mapper) {
        this.router = router;
        this.mapper = mapper;
    }

    public PciInterruptRouter router() {
        return router;
    }

    /** Plugs f in at slot.function; hands it its INTx line if its interrupt pin register is 1-4. */
    public synchronized void add(int slot, int function, PciFunction f) {
        if (slot < 0 || slot >= SLOTS || function < 0 || function >= FUNCTIONS) {
            throw new IllegalArgumentException("bad PCI address " + slot + "." + function);
        }
        int devfn = slot * FUNCTIONS + function;
        if (functions[devfn] != null) {
            throw new IllegalStateException(String.format("PCI slot %02x.%x is already in use", slot, function));
        }
        functions[devfn] = f;
        long[] m = new long[REGIONS];
        Arrays.fill(m, UNMAPPED);
        mappedAt[devfn] = m;
        decodedAt[devfn] = m.clone();
        int pin = f.readConfig(PciConfigSpace.INTERRUPT_PIN, 1) & 0xff;
        if (pin >= 1 && pin <= 4) {
            intx[devfn] = router.line(slot, pin);
            f.connectIntx(intx[devfn]);
        }
        updateFunction(devfn);
    }

    /**
     * Unplugs the function at slot.function (an ejected hot-plug slot): its BARs stop decoding and its INTx
     * line drops, so the guest's next config read there finds nothing. The function itself is the caller's
     * to close.
     *
     * @return the function that was there, or null
     */
    public synchronized PciFunction remove(int slot, int function) {
        int devfn = (slot & 31) * FUNCTIONS + (function & 7);
        PciFunction f = functions[devfn];
        if (f == null) {
            return null;
        }
        for (PciBar bar : f.bars()) {
            long have = mappedAt[devfn][bar.index()];
            if (have != UNMAPPED) {
                mapper.unmap(bar, have);
            }
        }
        if (intx[devfn] != null) {
            intx[devfn].setLevel(false);
            intx[devfn] = null;
        }
        functions[devfn] = null;
        owners[devfn] = null;
        mappedAt[devfn] = null;
        decodedAt[devfn] = null;
        return f;
    }

    /** Names the device at devfn for the refusal of another device there (QEMU's "TYPE,id=ID"). */
    public synchronized void setOwner(int devfn, String type, String id) {
        if (functions[devfn & 0xff] != null) {
            owners[devfn & 0xff] = type + ",id=" + (id == null ? "(null)" : id);
        }
    }

    /** "TYPE,id=ID" of the device at slot.function, or "another device" for a function without a name. */
    public synchronized String owner(int slot, int function) {
        String o = owners[(slot & 31) * FUNCTIONS + (function & 7)];
        return o == null ? "another device" : o;
    }

    /** The function at slot.function, or null. */
    public synchronized PciFunction function(int slot, int function) {
        return functions[(slot & 31) * FUNCTIONS + (function & 7)];
    }

    /**
     * A configuration read of size 1, 2 or 4 at register (0-255). Absent functions and other buses read as
     * all ones; an access that is unaligned or runs past 0xff is done byte by byte, the bytes past the end
     * reading 0 (QEMU clips the length there).
     */
    public synchronized int readConfig(int bus, int devfn, int register, int size) {
        PciFunction f = bus == 0 ? functions[devfn & 0xff] : null;
        if (f == null || register < 0 || register >= PciConfigSpace.SIZE) {
            return size == 4 ? -1 : (1 << (size * 8)) - 1;
        }
        int v;
        if ((register & (size - 1)) == 0) {
            v = f.readConfig(register, size);
        } else {
            v = 0;
            for (int i = 0; i < size && register + i < PciConfigSpace.SIZE; i++) {
                v |= (f.readConfig(register + i, 1) & 0xff) << (8 * i);
            }
        }
        // STATUS.Interrupt Status shows the driven INTx level, masked or not (QEMU's pci_update_irq_status)
        IntxLine line = intx[devfn & 0xff];
        if (line != null && register <= PciConfigSpace.STATUS && register + size > PciConfigSpace.STATUS
                && line.level()) {
            v |= PciConfigSpace.STATUS_INTERRUPT << (8 * (PciConfigSpace.STATUS - register));
        }
        return v;
    }

    /** A configuration write; absent functions ignore it, unaligned writes go byte by byte. */
    public synchronized void writeConfig(int bus, int devfn, int register, int size, int value) {
        PciFunction f = bus == 0 ? functions[devfn & 0xff] : null;
        if (f == null || register < 0 || register >= PciConfigSpace.SIZE) {
            return;
        }
        if ((register & (size - 1)) == 0) {
            f.writeConfig(register, size, value);
        } else {
            for (int i = 0; i < size && register + i < PciConfigSpace.SIZE; i++) {
                f.writeConfig(register + i, 1, value >>> (8 * i) & 0xff);
            }
        }
        int end = register + size;
        boolean rom = register < PciConfigSpace.ROM_ADDRESS + 4 && end > PciConfigSpace.ROM_ADDRESS;
        if (register < HEADER_END_OF_BARS && end > PciConfigSpace.COMMAND || rom) {
            updateFunction(devfn & 0xff);
        }
    }

    /** Machine reset: every function back to power-on state, INTx lowered, BARs unmapped. */
    public synchronized void reset() {
        for (int devfn = 0; devfn < functions.length; devfn++) {
            if (functions[devfn] != null) {
                if (intx[devfn] != null) {
                    intx[devfn].setLevel(false);
                }
                functions[devfn].reset();
                updateFunction(devfn);
            }
        }
    }

    /** Re-reads COMMAND and the BARs of devfn and moves handlers whose decoded address changed. */
    private void updateFunction(int devfn) {
        PciFunction f = functions[devfn];
        int command = f.readConfig(PciConfigSpace.COMMAND, 2);
        if (intx[devfn] != null) {
            intx[devfn].setMasked((command & PciConfigSpace.COMMAND_INTX_DISABLE) != 0);
        }
        for (PciBar bar : f.bars()) {
            long want = decode(f, bar, command);
            decodedAt[devfn][bar.index()] = want;
            long have = mappedAt[devfn][bar.index()];
            if (want == have) {
                continue;
            }
            if (have != UNMAPPED) {
                mapper.unmap(bar, have);
                mappedAt[devfn][bar.index()] = UNMAPPED;
            }
            if (want != UNMAPPED && mapper.map(bar, want)) {
                mappedAt[devfn][bar.index()] = want;
            }
        }
    }

    /** QEMU's pci_bar_address: the address bar decodes at, or UNMAPPED. */
    private static long decode(PciFunction f, PciBar bar, int command) {
        int off = bar.configOffset();
        long low = f.readConfig(off, 4) & 0xffff_ffffL;
        long size = bar.size();
        if (bar.isIo()) {
            if ((command & PciConfigSpace.COMMAND_IO) == 0) {
                return UNMAPPED;
            }
            long a = low & ~(size - 1) & ~0x3L;
            long last = a + size - 1;
            // QEMU treats 0 and ranges touching 4 GiB as "not placed" (left there by sizing)
            return a == 0 || last >= 0xffff_ffffL ? UNMAPPED : a;
        }
        if ((command & PciConfigSpace.COMMAND_MEMORY) == 0) {
            return UNMAPPED;
        }
        // the ROM decodes only while its own enable bit is also set
        if (bar.isRom() && (low & PciConfigSpace.ROM_ADDRESS_ENABLE) == 0) {
            return UNMAPPED;
        }
        long a = low;
        if (bar.kind() == PciBar.Kind.MEMORY64) {
            a |= (f.readConfig(off + 4, 4) & 0xffff_ffffL) << 32;
        }
        // QEMU masks a ROM's address with its size only (its enable bit is below any ROM's 2-byte size)
        a &= ~(size - 1) & (bar.isRom() ? -1L : ~0xfL);
        long last = a + size - 1;
        if (a == 0 || Long.compareUnsigned(last, a) <= 0 || last == -1L) {
            return UNMAPPED;
        }
        if (bar.kind() != PciBar.Kind.MEMORY64 && last >= 0xffff_ffffL) {
            return UNMAPPED;
        }
        // QEMU: beyond the 52-bit physical address space (TARGET_PHYS_ADDR_SPACE_BITS on x86-64)
        return last >= PHYS_ADDR_LIMIT ? UNMAPPED : a;
    }

    /**
     * Which functions sit where is configuration (checked, not restored); the state is each INTx wire's
     * driven level. The functions' own sections hold their config spaces; {@link #afterLoad} maps the
     * BARs from them, whichever order the sections were loaded in.
     */
    @Override
    public int stateVersion() {
        return 1;
    }

    @Override
    public synchronized void saveState(StateWriter w) {
        w.str("functions", layout());
        byte[] levels = new byte[functions.length];
        for (int devfn = 0; devfn < functions.length; devfn++) {
            levels[devfn] = (byte) (intx[devfn] != null && intx[devfn].level() ? 1 : 0);
        }
        w.bytes("intx", levels);
    }

    @Override
    public synchronized void loadState(StateReader r) throws StateException {
        r.expectStr("functions", layout());
        byte[] levels = new byte[functions.length];
        r.bytes("intx", levels);
        for (int devfn = 0; devfn < functions.length; devfn++) {
            if (levels[devfn] != 0 && (levels[devfn] != 1 || intx[devfn] == null)) {
                throw r.invalid("intx", String.format("level %d for %02x.%x, which has no INTx wire",
                        levels[devfn], devfn / FUNCTIONS, devfn % FUNCTIONS));
            }
        }
        for (int devfn = 0; devfn < functions.length; devfn++) {
            if (intx[devfn] != null) {
                intx[devfn].setLevel(levels[devfn] != 0);
            }
        }
    }

    /** Re-maps every function's BARs and INTx masking from its (restored) COMMAND and BAR registers. */
    @Override
    public synchronized void afterLoad() {
        for (int devfn = 0; devfn < functions.length; devfn++) {
            if (functions[devfn] != null) {
                updateFunction(devfn);
            }
        }
    }

    /** "slot.fn vendor:device" for each function, the bus's configuration as state checks it. */
    private String layout() {
        StringBuilder b = new StringBuilder();
        for (int devfn = 0; devfn < functions.length; devfn++) {
            PciFunction f = functions[devfn];
            if (f != null) {
                b.append(b.length() == 0 ? "" : " ").append(String.format("%02x.%x=%04x:%04x", devfn / FUNCTIONS,
                        devfn % FUNCTIONS, f.readConfig(PciConfigSpace.VENDOR_ID, 2) & 0xffff,
                        f.readConfig(PciConfigSpace.DEVICE_ID, 2) & 0xffff));
            }
        }
        return b.toString();
    }

    /** Where bar index of slot.function is registered now, or UNMAPPED. */
    public synchronized long mappedAddress(int slot, int function, int index) {
        long[] m = mappedAt[slot * FUNCTIONS + function];
        return m == null ? UNMAPPED : m[index];
    }

    /** query-pci: bus 0 and its functions in slot/function order. */
    public synchronized List<PciBusInfo> describe() {
        List<PciDeviceInfo> devices = new ArrayList<>();
        for (int devfn = 0; devfn < functions.length; devfn++) {
            PciFunction f = functions[devfn];
            if (f == null) {
                continue;
            }
            List<PciRegionInfo> regions = new ArrayList<>();
            List<PciBar> bars = new ArrayList<>(f.bars());
            bars.sort(Comparator.comparingInt(PciBar::index));
            for (PciBar b : bars) {
                regions.add(new PciRegionInfo(b.index(), b.isIo(), decodedAt[devfn][b.index()], b.size(),
                        b.kind() == PciBar.Kind.MEMORY64, b.prefetch()));
            }
            int classCode = f.readConfig(PciConfigSpace.CLASS_DEVICE, 2) & 0xffff;
            devices.add(new PciDeviceInfo(0, devfn / FUNCTIONS, devfn % FUNCTIONS, classCode, f.description(),
                    f.readConfig(PciConfigSpace.VENDOR_ID, 2) & 0xffff,
                    f.readConfig(PciConfigSpace.DEVICE_ID, 2) & 0xffff,
                    f.readConfig(PciConfigSpace.SUBSYSTEM_VENDOR_ID, 2) & 0xffff,
                    f.readConfig(PciConfigSpace.SUBSYSTEM_ID, 2) & 0xffff,
                    f.readConfig(PciConfigSpace.INTERRUPT_LINE, 1) & 0xff,
                    f.readConfig(PciConfigSpace.INTERRUPT_PIN, 1) & 0xff, f.qdevId(), regions));
        }
        return List.of(new PciBusInfo(0, devices));
    }

    /**
     * Firmware-less set-up, leaving the bus as SeaBIOS 1.16 (QEMU 7.2's BIOS) does for the kernel: every
     * BAR placed (I/O packed upward from 0xc000; memory and prefetchable memory packed, largest first, just
     * below 0xfec00000, the region with the smaller alignment on top), IO, MEM and SERR enabled in COMMAND,
     * INTERRUPT_LINE set to the ISA IRQ the router gives the function's pin, then each function's
     * {@link PciFunction#firmwareSetup()}. Program the PIRQ routes
     * (e.g. {@link Piix3IsaBridge#programFirmwareRoutes()}) before calling this. Functions are visited in
     * slot/function order and BARs of equal size keep that order, as SeaBIOS's sorted lists do.
     */
    public synchronized void assignResources() {
        List<Entry> io = new ArrayList<>();
        List<Entry> mem = new ArrayList<>();
        List<Entry> pref = new ArrayList<>();
        for (int devfn = 0; devfn < functions.length; devfn++) {
            PciFunction f = functions[devfn];
            if (f == null) {
                continue;
            }
            for (PciBar b : f.bars()) {
                if (b.isIo()) {
                    io.add(new Entry(devfn, b, b.size()));
                } else {
                    (b.prefetch() ? pref : mem).add(new Entry(devfn, b, Math.max(b.size(), FIRMWARE_MEM_MIN)));
                }
            }
        }
        Comparator<Entry> bySizeDown = Comparator.comparingLong(Entry::size).reversed();
        io.sort(bySizeDown);
        mem.sort(bySizeDown);
        pref.sort(bySizeDown);

        long[] ioBases = place(io, FIRMWARE_IO_BASE);
        long memSum = sum(mem);
        long prefSum = sum(pref);
        long memAlign = align(mem);
        long prefAlign = align(pref);
        long memBase;
        long prefBase;
        // SeaBIOS puts prefetchable memory on top unless plain memory needs the smaller alignment
        if (memAlign < prefAlign) {
            memBase = alignDown(FIRMWARE_MEM_END - memSum, memAlign);
            prefBase = alignDown(memBase - prefSum, prefAlign);
        } else {
            prefBase = alignDown(FIRMWARE_MEM_END - prefSum, prefAlign);
            memBase = alignDown(prefBase - memSum, memAlign);
        }
        long[] memBases = place(mem, memBase);
        long[] prefBases = place(pref, prefBase);
        for (int i = 0; i < io.size(); i++) {
            writeBar(io.get(i).devfn(), io.get(i).bar(), ioBases[i]);
        }
        for (int i = 0; i < mem.size(); i++) {
            writeBar(mem.get(i).devfn(), mem.get(i).bar(), memBases[i]);
        }
        for (int i = 0; i < pref.size(); i++) {
            writeBar(pref.get(i).devfn(), pref.get(i).bar(), prefBases[i]);
        }
        for (int devfn = 0; devfn < functions.length; devfn++) {
            PciFunction f = functions[devfn];
            if (f == null) {
                continue;
            }
            int pin = f.readConfig(PciConfigSpace.INTERRUPT_PIN, 1) & 0xff;
            if (pin >= 1 && pin <= 4) {
                int irq = router.isaIrqFor(devfn / FUNCTIONS, pin);
                if (irq >= 0) {
                    f.writeConfig(PciConfigSpace.INTERRUPT_LINE, 1, irq);
                }
            }
            f.firmwareSetup();
            int command = f.readConfig(PciConfigSpace.COMMAND, 2);
            f.writeConfig(PciConfigSpace.COMMAND, 2, command | FIRMWARE_COMMAND);
            updateFunction(devfn);
        }
    }

    private void writeBar(int devfn, PciBar bar, long address) {
        int off = bar.configOffset();
        PciFunction f = functions[devfn];
        // SeaBIOS places the ROM but leaves it disabled (its option ROM code enables it while copying)
        int typeBits = bar.isRom() ? 0 : f.readConfig(off, 4) & (bar.isIo() ? 0x3 : 0xf);
        f.writeConfig(off, 4, (int) address | typeBits);
        if (bar.kind() == PciBar.Kind.MEMORY64) {
            f.writeConfig(off + 4, 4, (int) (address >>> 32));
        }
    }

    /** One BAR to place, with SeaBIOS's minimum size applied. */
    private record Entry(int devfn, PciBar bar, long size) {
    }

    /** Packs entries (largest first) upward from base, each aligned to its size. */
    private static long[] place(List<Entry> entries, long base) {
        long[] out = new long[entries.size()];
        long next = base;
        for (int i = 0; i < out.length; i++) {
            long size = entries.get(i).size();
            next = (next + size - 1) & ~(size - 1);
            out[i] = next;
            next += size;
        }
        return out;
    }

    private static long sum(List<Entry> entries) {
        long s = 0;
        for (Entry e : entries) {
            s += e.size();
        }
        return s;
    }

    /** The region's alignment: its largest BAR (1 for an empty region, as SeaBIOS). */
    private static long align(List<Entry> entries) {
        return entries.isEmpty() ? 1 : entries.get(0).size();
    }

    private static long alignDown(long v, long align) {
        return v & ~(align - 1);
    }
}
