package dev.jvmm.devices.pc;

import dev.jvmm.devices.QemuAcpiFiles;
import dev.jvmm.devices.Qtest;
import dev.jvmm.devices.acpi.AcpiConfig;
import dev.jvmm.devices.acpi.AcpiFirmwareFiles;
import dev.jvmm.devices.acpi.AcpiTables;
import dev.jvmm.devices.acpi.Srat;
import dev.jvmm.devices.model.TestBoard;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The ACPI fw_cfg files of jvmm's pc board against QEMU 7.2's for the same command line (QEMU over qtest,
 * before SeaBIOS ran, see {@link QemuAcpiFiles}): etc/acpi/tables (FACS, DSDT, FACP, APIC, [HPET], WAET,
 * RSDT), etc/acpi/rsdp and etc/table-loader, byte for byte.
 *
 * <p>Two FADT fields are set to QEMU's pre-firmware values on jvmm's side, since they differ by design:
 * the PIIX4 PM block's base (QEMU's is 0 until SeaBIOS programs PMBA, jvmm's board describes the 0x600 it
 * programs itself) and SMI_CMD/ACPI_ENABLE (QEMU's TCG machine has SMM, jvmm under KVM here has none).
 * Everything else, the DSDT included, is the board's own. The DSDT describes hardware jvmm does not
 * implement, as QEMU's does (DESIGN.md, "ACPI"): the floppy controller FDC0 (ports 0x3f0-0x3f7 answer
 * nothing), the PCI hotplug registers at 0xae00-0xae17 (PHPR, PCST, SEJ, BNMR; no hotplug event is ever
 * raised), the CPU hotplug block at 0xaf00-0xaf0b (\_SB.PCI0.PRES), and the debug port 0x402 that DBUG
 * writes.
 */
class QemuPcAcpiComparisonTest {
    /** A board as PcMachine builds it for -nodefaults, with QEMU's smp/m/serial/global/device settings. */
    private static AcpiFirmwareFiles jvmm(String machine, int cpus, int maxCpus, long ram, List<String> serials,
                                          List<String> devices, String... globals) {
        return jvmm(machine, cpus, maxCpus, ram, 0, serials, devices, globals);
    }

    /** With high RAM: ram below 4 GiB and above (the test board only allocates the low part). */
    private static AcpiFirmwareFiles jvmm(String machine, int cpus, int maxCpus, long ram, long above4g,
                                          List<String> serials, List<String> devices, String... globals) {
        return jvmm(machine, cpus, maxCpus, ram, above4g, 0, null, serials, devices, globals);
    }

    /** With -m slots= and the end of the device memory region maxmem makes (0 for none). */
    private static AcpiFirmwareFiles jvmm(String machine, int cpus, int maxCpus, long ram, long above4g,
                                          int memorySlots, Srat deviceMemory, List<String> serials,
                                          List<String> devices, String... globals) {
        PcBoard[] board = new PcBoard[1];
        TestBoard.Builder b = TestBoard.builder().withoutBuses().cpus(cpus).ram(ram).ramSplit(ram, above4g)
                .describeIsa(d -> board[0].describeIsa(d));
        for (String g : globals) {
            b.global(g);
        }
        try (TestBoard t = b.build()) {
            PcProperties pc = PcPropertiesTest.parse(machine);
            board[0] = new PcBoard(t.model, new PcBoard.Config(pc, pc.acpi(), true, "qemu64-x86_64-cpu", cpus,
                    maxCpus, 1, maxCpus, 1, IntStream.range(0, maxCpus).boxed().toList(), t.ramSize(),
                    PcBoard.serialChardevs(t.chardevs, serials)));
            board[0].createBaseDevices();
            t.model.skipUnattached(); // the IDE function
            board[0].createPowerManagement();
            board[0].setMemoryHotplug(memorySlots, deviceMemory);
            devices.forEach(t::add);
            AcpiConfig c = board[0].acpiConfig();
            AcpiConfig beforeFirmware = new AcpiConfig(c.apicIds(), c.pirqIrqs(), c.isaDevices(), 0, true,
                    c.s4Val(), c.s3(), c.pciHoleStart(), c.pciHoleEnd(), c.hpet(), c.possibleApicIds(),
                    c.pciHole64Start(), c.pciHole64End(), c.pciHotplug(), c.memorySlots(), c.numaNode(), c.srat());
            return AcpiTables.firmwareFiles(beforeFirmware);
        }
    }

    private static void compare(AcpiFirmwareFiles ours, String... qemuArgs) throws Exception {
        QemuAcpiFiles qemu = compareDsdt(ours, qemuArgs);
        String line = String.join(" ", qemuArgs);
        assertArrayEquals(qemu.tables(), ours.tables(), "etc/acpi/tables for " + line);
        assertArrayEquals(qemu.rsdp(), ours.rsdp(), "etc/acpi/rsdp for " + line);
        assertArrayEquals(qemu.loader(), ours.loader(), "etc/table-loader for " + line);
    }

    /** The DSDT alone; returns QEMU's files for the other comparisons. */
    private static QemuAcpiFiles compareDsdt(AcpiFirmwareFiles ours, String... qemuArgs) throws Exception {
        assumeTrue(Qtest.available(), "qemu-system-x86_64 is not installed");
        QemuAcpiFiles qemu = QemuAcpiFiles.read(qemuArgs);
        int dsdtLength = qemu.dsdt().length;
        byte[] ourDsdt = java.util.Arrays.copyOfRange(ours.tables(), AcpiTables.FACS_LENGTH,
                AcpiTables.FACS_LENGTH + Math.max(dsdtLength, 0));
        assertArrayEquals(qemu.dsdt(), ourDsdt, "DSDT for " + String.join(" ", qemuArgs));
        return qemu;
    }

    private static final long MIB = 1L << 20;

    @Test
    void defaultsWithOneCpu() throws Exception {
        compare(jvmm("", 1, 1, 128 * MIB, List.of(), List.of()), "-m", "128");
    }

    @Test
    void twoCpusAndHalfAGigabyte() throws Exception {
        compare(jvmm("", 2, 2, 512 * MIB, List.of(), List.of()), "-smp", "2", "-m", "512");
    }

    @Test
    void possibleCpusBeyondThePresentOnes() throws Exception {
        compare(jvmm("", 1, 4, 128 * MIB, List.of(), List.of()), "-smp", "1,maxcpus=4", "-m", "128");
        compare(jvmm("", 3, 3, 128 * MIB, List.of(), List.of()), "-smp", "3", "-m", "128");
    }

    @Test
    void ramAboveFourGigabytesMovesThe64BitWindow() throws Exception {
        // QEMU's pc_init1 splits 5 GiB at 3 GiB (gigabyte-aligned low RAM)
        compare(jvmm("", 1, 1, 3L << 30, 2L << 30, List.of(), List.of()), "-m", "5G");
    }

    /**
     * -m slots=,maxmem=: QEMU's pc then makes a NUMA node by itself (auto_enable_numa_with_memdev), so the
     * tables have an SRAT and each Processor a _PXM; the 64-bit window moves past the device memory region
     * (from 4 GiB: maxmem - size plus 1 GiB per slot).
     */
    @Test
    void memoryHotplugSlotsAndTheDeviceMemoryRegion() throws Exception {
        compare(jvmm("", 1, 1, 128 * MIB, 0, 2, new Srat(128 * MIB, 128 * MIB, 4L << 30,
                (1L << 30) - 128 * MIB + (2L << 30)), List.of(), List.of()), "-m", "128M,slots=2,maxmem=1G");
        // maxmem without slots: no hotplug AML
        compare(jvmm("", 1, 1, 128 * MIB, 0, 0, new Srat(128 * MIB, 128 * MIB, 4L << 30, (1L << 30) - 128 * MIB),
                List.of(), List.of()), "-m", "128M,maxmem=1G");
    }

    @Test
    void withoutHpet() throws Exception {
        compare(jvmm("hpet=off", 1, 1, 128 * MIB, List.of(), List.of()), "-m", "128", "-machine", "hpet=off");
    }

    @Test
    void sleepStatesFromPiix4PmGlobals() throws Exception {
        compare(jvmm("", 1, 1, 128 * MIB, List.of(), List.of(), "PIIX4_PM.disable_s3=1", "PIIX4_PM.disable_s4=1"),
                "-m", "128", "-global", "PIIX4_PM.disable_s3=1", "-global", "PIIX4_PM.disable_s4=1");
        compare(jvmm("", 1, 1, 128 * MIB, List.of(), List.of(), "PIIX4_PM.s4_val=3"),
                "-m", "128", "-global", "PIIX4_PM.s4_val=3");
    }

    @Test
    void pciHotplugSwitches() throws Exception {
        for (String g : List.of("PIIX4_PM.acpi-root-pci-hotplug=off",
                "PIIX4_PM.acpi-pci-hotplug-with-bridge-support=off")) {
            compare(jvmm("", 1, 1, 128 * MIB, List.of(), List.of(), g), "-m", "128", "-global", g);
        }
        compare(jvmm("", 1, 1, 128 * MIB, List.of(), List.of("virtio-balloon-pci,addr=3", "i6300esb,addr=4.2"),
                "PIIX4_PM.acpi-root-pci-hotplug=off"), "-m", "128", "-global", "PIIX4_PM.acpi-root-pci-hotplug=off",
                "-device", "virtio-balloon-pci,addr=3", "-device", "i6300esb,addr=4.2");
        compare(jvmm("", 1, 1, 128 * MIB, List.of(), List.of(), "PIIX4_PM.acpi-root-pci-hotplug=off",
                "PIIX4_PM.acpi-pci-hotplug-with-bridge-support=off"), "-m", "128", "-global",
                "PIIX4_PM.acpi-root-pci-hotplug=off", "-global", "PIIX4_PM.acpi-pci-hotplug-with-bridge-support=off");
    }

    @Test
    void twoSerialPorts() throws Exception {
        compare(jvmm("", 1, 1, 128 * MIB, List.of("null", "null"), List.of()),
                "-m", "128", "-serial", "null", "-serial", "null");
    }

    @Test
    void pvpanic() throws Exception {
        List<String> args = new ArrayList<>(List.of("-m", "128", "-device", "pvpanic"));
        compare(jvmm("", 1, 1, 128 * MIB, List.of(), List.of("pvpanic")), args.toArray(new String[0]));
    }
}
