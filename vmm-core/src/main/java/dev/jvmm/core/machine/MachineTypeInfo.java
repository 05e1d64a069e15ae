package dev.jvmm.core.machine;

import java.util.List;

/**
 * One machine type as query-machines lists it (QEMU 7.2 members; alias and is-default are omitted on the
 * wire when null/false).
 */
public record MachineTypeInfo(String name, String alias, boolean isDefault, int cpuMax, boolean hotpluggableCpus,
        boolean numaMemSupported, boolean deprecated, String defaultCpuType, String defaultRamId) {

    /** QEMU 7.2's default PC machine (i440FX), "pc" alias, is-default, 255 CPUs. */
    public static MachineTypeInfo pcI440fx72() {
        return new MachineTypeInfo("pc-i440fx-7.2", "pc", true, 255, true, false, false, "qemu64-x86_64-cpu",
                "pc.ram");
    }

    /** QEMU's "none" machine: one CPU at most, none by default, no default CPU type, RAM named "ram". */
    public static MachineTypeInfo none() {
        return new MachineTypeInfo("none", null, false, 1, false, false, false, null, "ram");
    }

    /** The machine types jvmm runs, as query-machines lists them. */
    public static List<MachineTypeInfo> jvmm() {
        return List.of(pcI440fx72(), none());
    }
}
