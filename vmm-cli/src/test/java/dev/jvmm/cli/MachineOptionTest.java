package dev.jvmm.cli;

import dev.jvmm.devices.pc.PcProperties;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The -machine option on the command line: several options merged, the machine type, the properties that
 * stand in for other options, and the checks that need the whole command line. The properties themselves
 * are PcPropertiesTest's (vmm-devices).
 */
class MachineOptionTest {
    private static MachineConfig config(String... args) {
        return CliArgs.config(args);
    }

    private static String error(String... args) {
        return CliArgs.error(args);
    }

    @Test
    void defaultsAreQemus() {
        assertEquals(PcProperties.DEFAULTS, config().pc());
        assertEquals(PcProperties.DEFAULTS, config("-machine", "pc").pc());
    }

    @Test
    void laterValuesWin() {
        PcProperties p = config("-machine", "pc,pit=off,i8042=no,max-ram-below-4g=1G,mem-merge=off",
                "-machine", "dump-guest-core=false,acpi=off").pc();
        assertFalse(p.pit());
        assertFalse(p.i8042());
        assertEquals(1L << 30, p.maxRamBelow4g());
        assertFalse(p.memMerge());
        assertFalse(p.dumpGuestCore());
        assertFalse(config("-machine", "pc,acpi=off").acpi());
        assertFalse(config("-machine", "pc", "-no-acpi").acpi());
        assertTrue(config("-machine", "pc,pit=auto,pit=on").pc().pit(), "a later value wins");
        assertFalse(config("-machine", "pit=on", "-machine", "pit=off").pc().pit());
    }

    @Test
    void machinePropertiesStandInForTheirOptions() {
        MachineConfig c = config("-machine", "pc,kernel=/k,initrd=/i,append=a b,memory.size=256M,smp.cpus=2");
        assertEquals(Optional.of(Path.of("/k")), c.kernel());
        assertEquals(Optional.of(Path.of("/i")), c.initrd());
        assertEquals("a b", c.append());
        assertEquals(256L << 20, c.ramBytes());
        assertEquals(2, c.smp().cpus());
        assertEquals(Optional.of(Path.of("/x")), config("-machine", "kernel=/k", "-kernel", "/x").kernel());
    }

    @Test
    void refusalsNameNoOption() {
        assertEquals("Property 'pc-i440fx-7.2-machine.foo' not found", error("-machine", "pc,foo=1"));
        assertEquals("Machine option 'vmport=on' is not supported: jvmm has no VMware I/O port",
                error("-machine", "pc,vmport=on"));
        assertEquals("-accel tcg: invalid accelerator tcg (jvmm supports only kvm)", error("-accel", "tcg"));
    }

    @Test
    void everyPropertyAfterTheTypeNeedsAValue() {
        assertEquals("-machine pc,hpet: Expected '=' after parameter 'hpet'", error("-machine", "pc,hpet"));
    }

    @Test
    void otherMachineTypes() {
        assertEquals("unsupported machine type 'q35'\nUse -machine help to list supported machines",
                error("-machine", "q35"));
    }

    @Test
    void lowRamMustStayBelowTheIoapic() {
        assertEquals("Machine option 'max-ram-below-4g=4294967296' is not supported: 4278190080 bytes of RAM below"
                + " 4 GiB run into the IOAPIC at 0xfec00000", error("-machine", "pc,max-ram-below-4g=4G", "-m", "4080M"));
        assertEquals(3968L << 20, config("-machine", "pc,max-ram-below-4g=4G", "-m", "3968M").ramBytes());
    }
}
