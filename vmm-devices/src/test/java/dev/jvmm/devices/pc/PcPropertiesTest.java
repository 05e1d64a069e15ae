package dev.jvmm.devices.pc;

import dev.jvmm.core.config.OptionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** -machine pc properties: what jvmm applies, and what it refuses in QEMU 7.2's words. */
class PcPropertiesTest {
    /** "k=v,k=v" (no escapes) as the -machine parser hands it over, a later value winning. */
    static PcProperties parse(String text) {
        Map<String, String> m = new LinkedHashMap<>();
        if (!text.isEmpty()) {
            for (String kv : text.split(",")) {
                int eq = kv.indexOf('=');
                m.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        return PcProperties.parse(m);
    }

    private static String error(String text) {
        return assertThrows(OptionException.class, () -> parse(text)).getMessage();
    }

    @Test
    void defaultsAreQemus() {
        PcProperties d = PcProperties.DEFAULTS;
        assertTrue(d.acpi() && d.pit() && d.i8042() && d.hpet() && d.vmport() && d.memMerge() && d.dumpGuestCore());
        assertEquals(0, d.maxRamBelow4g());
        assertEquals(Optional.of("auto"), d.value("vmport"));
        assertEquals(Optional.of("BOCHS "), d.value("x-oem-id"));
        assertEquals(d, parse(""));
    }

    @Test
    void honouredValues() {
        PcProperties p = parse("pit=off,i8042=no,max-ram-below-4g=1G,mem-merge=off,dump-guest-core=false,acpi=off,"
                + "hpet=off,vmport=off");
        assertFalse(p.pit());
        assertFalse(p.i8042());
        assertFalse(p.acpi());
        assertFalse(p.hpet());
        assertFalse(p.vmport());
        assertEquals(1L << 30, p.maxRamBelow4g());
        assertFalse(p.memMerge());
        assertFalse(p.dumpGuestCore());
        assertEquals(Optional.of("size=256M,maxmem=1G"), parse("memory.size=256M,memory.maxmem=1G").memory());
        assertEquals(Optional.of("cpus=2"), parse("smp.cpus=2").smp());
        assertEquals(Optional.of("/k"), parse("kernel=/k").kernel());
    }

    @Test
    void underscoresReadAsDashes() {
        assertEquals(64L << 20, parse("max_ram_below_4g=64M").maxRamBelow4g());
        assertEquals("Property 'pc-i440fx-7.2-machine.rtc-state' not found", error("rtc_state=x"));
    }

    @Test
    void acceptedWithoutEffect() {
        parse("hpet=off,vmport=off,vmport=auto,smm=off,smm=auto,usb=off,nvdimm=off,sata=off,smbus=off,graphics=off,"
                + "suppress-vmdesc=on,default-bus-bypass-iommu=on,kernel-irqchip=on,bus-lock-ratelimit=0,"
                + "firmware=bios.bin,smbios-entry-point-type=64,max-fw-size=8M,boot.order=cd,dtb=x,phandle-start=5,"
                + "hmat=off,cxl=off,nvdimm-persistence=cpu,accel=kvm");
    }

    /** The error lines QEMU 7.2 prints for bad values, and jvmm's for values it cannot run with. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "foo=1|Property 'pc-i440fx-7.2-machine.foo' not found",
            "pit.x=1|Parameters 'pit.*' are unexpected",
            "foo.bar=1|Property 'pc-i440fx-7.2-machine.foo' not found",
            "system.flash0=x|Property 'pc-i440fx-7.2-machine.system' not found",
            "peripheral=x|Property 'pc-i440fx-7.2-machine.peripheral' is not writable",
            "unattached=x|Property 'pc-i440fx-7.2-machine.unattached' is not writable",
            "device-memory-region-size=5|Property 'pc-i440fx-7.2-machine.device-memory-region-size' is not writable",
            "pit=foo|Parameter 'pit' does not accept value 'foo'",
            "hpet=foo|Parameter 'hpet' expects 'on' or 'off'",
            "max-ram-below-4g=foo|Parameter 'max-ram-below-4g' expects size",
            "max-ram-below-4g=5G|Machine option 'max-ram-below-4g=5368709120' expects size less than or equal to 4G",
            "bus-lock-ratelimit=x|Parameter 'bus-lock-ratelimit' expects integer",
            "boot=foo|Invalid parameter type for 'boot', expected: object",
            "sgx-epc=foo|Invalid parameter type for 'sgx-epc', expected: array",
            "cxl-fmw=foo|Invalid parameter type for 'cxl-fmw', expected: array",
            "smbios-entry-point-type=foo|Parameter 'smbios-entry-point-type' does not accept value 'foo'",
            "smm=on|System Management Mode not supported by this hypervisor.",
            "confidential-guest-support=x|Device 'x' not found",
            "memory-encryption=x|No such memory encryption object 'x'",
            "pcspk-audiodev=x|Property 'isa-pcspk.audiodev' can't find value 'x'",
            "x-oem-id=1234567|User specified x-oem-id value is bigger than 6 bytes in size",
            "x-oem-table-id=123456789|User specified x-oem-table-id value is bigger than 8 bytes in size",
            "x-oem-id=ABC|Machine option 'x-oem-id=ABC' is not supported: jvmm's ACPI tables carry QEMU's default"
                    + " OEM IDs",
            "bus-lock-ratelimit=10|kvm: bus lock detection unsupported",
            "usb=yes|Machine option 'usb=on' is not supported: jvmm has no USB controller",
            "vmport=on|Machine option 'vmport=on' is not supported: jvmm has no VMware I/O port",
            "kernel-irqchip=split|Machine option 'kernel-irqchip=split' is not supported: jvmm needs KVM's"
                    + " in-kernel irqchip",
            "kvm-shadow-mem=1M|Machine option 'kvm-shadow-mem=1048576' is not supported: jvmm leaves KVM's MMU page"
                    + " count to KVM",
            "pflash0=fw|Machine option 'pflash0=fw' is not supported: jvmm has no flash memory for UEFI firmware",
            "sgx-epc.0.memdev=m|Machine option 'sgx-epc' is not supported: jvmm has no SGX EPC",
            "nvdimm=on|Machine option 'nvdimm=on' is not supported: jvmm has no NVDIMM",
            "max-ram-below-4g=1M|Machine option 'max-ram-below-4g=1048576' is not supported: jvmm needs at least"
                    + " 2 MiB of RAM below 4 GiB",
            "max-fw-size=32M|User specified max allowed firmware size 33554432 is greater than 16MiB. If combined"
                    + " firwmare size exceeds 16MiB the system may not boot, or experience intermittentstability"
                    + " issues.",
            "pic=off|Machine option 'pic=off' is not supported: jvmm's interrupts go through KVM's in-kernel PIC"
                    + " and IOAPIC, which come together",
    })
    void refusals(String machine, String expected) {
        assertEquals(expected, error(machine));
    }
}
