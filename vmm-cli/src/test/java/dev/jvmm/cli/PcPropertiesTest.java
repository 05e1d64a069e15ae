package dev.jvmm.cli;

import dev.jvmm.core.config.OptionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** -machine pc properties: QEMU 7.2's names and types, what jvmm applies, and what it refuses in QEMU's words. */
class PcPropertiesTest {
    private static MachineConfig config(String... args) {
        QemuCommandLine cl = new QemuCommandLine();
        Main.newParser(cl).parseArgs(args);
        return MachineConfigParser.parse(cl);
    }

    private static String error(String... args) {
        return assertThrows(OptionException.class, () -> config(args)).formatted();
    }

    /** What `qemu-system-x86_64 -machine pc,help` lists for QEMU 7.2, plus the instance and -accel ones. */
    @Test
    void everyQemuPropertyIsDeclaredOnce() {
        Set<String> declared = PcProperties.PROPERTIES.stream().map(MachineProperty::name)
                .collect(Collectors.toSet());
        assertEquals(PcProperties.PROPERTIES.size(), declared.size());
        for (String p : List.of("acpi", "append", "boot", "bus-lock-ratelimit", "confidential-guest-support",
                "default-bus-bypass-iommu", "dt-compatible", "dtb", "dump-guest-core", "dumpdtb", "firmware",
                "graphics", "hpet", "i8042", "initrd", "kernel", "max-fw-size", "max-ram-below-4g", "mem-merge",
                "memory-backend", "memory-encryption", "memory", "phandle-start", "pic", "pit", "sata", "sgx-epc",
                "smbios-entry-point-type", "smbus", "smm", "smp", "suppress-vmdesc", "usb", "vmport", "x-oem-id",
                "x-oem-table-id", "nvdimm", "pcspk-audiodev", "accel", "kernel-irqchip", "kvm-shadow-mem")) {
            assertTrue(declared.contains(p), p);
        }
    }

    @Test
    void defaultsAreQemus() {
        assertEquals(PcProperties.DEFAULTS, config().pc());
        assertEquals(PcProperties.DEFAULTS, config("-machine", "pc").pc());
    }

    @Test
    void honouredValues() {
        PcProperties p = config("-machine", "pc,pit=off,i8042=no,max-ram-below-4g=1G,mem-merge=off",
                "-machine", "dump-guest-core=false,acpi=off").pc();
        assertFalse(p.pit());
        assertFalse(p.i8042());
        assertEquals(1L << 30, p.maxRamBelow4g());
        assertFalse(p.memMerge());
        assertFalse(p.dumpGuestCore());
        assertFalse(config("-machine", "pc,acpi=off").acpi());
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
    void acceptedWithoutEffect() {
        config("-machine", "pc,hpet=off,vmport=off,vmport=auto,smm=off,smm=auto,usb=off,nvdimm=off,sata=off,smbus=off,"
                + "graphics=off,suppress-vmdesc=on,default-bus-bypass-iommu=on,kernel-irqchip=on,bus-lock-ratelimit=0,"
                + "firmware=bios.bin,smbios-entry-point-type=64,max-fw-size=8M,boot.order=cd,dtb=x,phandle-start=5");
    }

    /** The error lines QEMU 7.2 prints for bad values, and jvmm's for values it cannot run with. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "pc,foo=1|Property 'pc-i440fx-7.2-machine.foo' not found",
            "pc,pit.x=1|Property 'pc-i440fx-7.2-machine.pit.x' not found",
            "pc,pit=foo|Parameter 'pit' does not accept value 'foo'",
            "pc,hpet=foo|Parameter 'hpet' expects 'on' or 'off'",
            "pc,max-ram-below-4g=foo|Parameter 'max-ram-below-4g' expects size",
            "pc,max-ram-below-4g=5G|Machine option 'max-ram-below-4g=5368709120' expects size less than or equal to 4G",
            "pc,bus-lock-ratelimit=x|Parameter 'bus-lock-ratelimit' expects integer",
            "pc,boot=foo|Invalid parameter type for 'boot', expected: object",
            "pc,smbios-entry-point-type=foo|Parameter 'smbios-entry-point-type' does not accept value 'foo'",
            "pc,smm=on|System Management Mode not supported by this hypervisor.",
            "pc,memory-backend=x|Memory backend 'x' not found",
            "pc,confidential-guest-support=x|Device 'x' not found",
            "pc,memory-encryption=x|No such memory encryption object 'x'",
            "pc,pcspk-audiodev=x|Property 'isa-pcspk.audiodev' can't find value 'x'",
            "pc,x-oem-id=1234567|User specified x-oem-id value is bigger than 6 bytes in size",
            "pc,x-oem-table-id=123456789|User specified x-oem-table-id value is bigger than 8 bytes in size",
            "pc,bus-lock-ratelimit=10|kvm: bus lock detection unsupported",
            "pc,hpet=on|Machine option 'hpet=on' is not supported: jvmm has no HPET",
            "pc,usb=yes|Machine option 'usb=on' is not supported: jvmm has no USB controller",
            "pc,vmport=on|Machine option 'vmport=on' is not supported: jvmm has no VMware I/O port",
            "pc,kernel-irqchip=split|Machine option 'kernel-irqchip=split' is not supported: jvmm needs KVM's"
                    + " in-kernel irqchip",
            "pc,firmware=OVMF.fd|Machine option 'firmware=OVMF.fd' is not supported: jvmm boots -kernel without"
                    + " firmware",
            "pc,sgx-epc.0.memdev=m|Machine option 'sgx-epc' is not supported: jvmm has no SGX EPC",
            "pc,max-ram-below-4g=1M|Machine option 'max-ram-below-4g=1048576' is not supported: jvmm needs at least"
                    + " 2 MiB of RAM below 4 GiB",
            "pc,pic=off|Machine option 'pic=off' is not supported: jvmm's interrupts go through KVM's in-kernel PIC"
                    + " and IOAPIC, which come together",
    })
    void refusals(String machine, String expected) {
        assertEquals(expected, error("-machine", machine));
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
