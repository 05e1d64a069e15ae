package dev.jvmm.libvirt;

import java.nio.file.Path;

/**
 * The domain of issue 14 (pc-i440fx-7.2 as virt-install writes it) with the tiny guest as kernel: balloon,
 * serial pty and console, PS/2, piix3-uhci, virtio disks (qcow2 and raw), an empty IDE cdrom, a virtio-serial
 * unix channel, i6300esb, pvpanic, on_crash, pm and clock settings. Values are set with the withers.
 */
public record DomainXml(String name, Path emulator, CpuMode cpu, int vcpus, int memoryMiB, Path kernel,
                        Path initrd, String cmdline, Path qcow2, Path raw, Path channel) {

    /** libvirt's {@code <cpu>} choices: none (libvirt's default model), host-passthrough, host-model. */
    public enum CpuMode { NONE, HOST_PASSTHROUGH, HOST_MODEL }

    public static DomainXml of(String name, Path emulator, Path kernel, Path qcow2, Path raw, Path channel) {
        return new DomainXml(name, emulator, CpuMode.NONE, 2, 256, kernel, null, "action=powerbutton", qcow2, raw,
                channel);
    }

    public DomainXml withCpu(CpuMode mode, int count) {
        return new DomainXml(name, emulator, mode, count, memoryMiB, kernel, initrd, cmdline, qcow2, raw, channel);
    }

    public DomainXml withCmdline(String c) {
        return new DomainXml(name, emulator, cpu, vcpus, memoryMiB, kernel, initrd, c, qcow2, raw, channel);
    }

    public DomainXml withInitrd(Path i) {
        return new DomainXml(name, emulator, cpu, vcpus, memoryMiB, kernel, i, cmdline, qcow2, raw, channel);
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;");
    }

    private String cpuElement() {
        return switch (cpu) {
            case NONE -> "";
            case HOST_PASSTHROUGH -> "  <cpu mode='host-passthrough' check='none' migratable='on'/>\n";
            case HOST_MODEL -> "  <cpu mode='host-model' check='partial'/>\n";
        };
    }

    private static String disk(String type, Path file, String dev) {
        return "    <disk type='file' device='disk'>\n"
                + "      <driver name='qemu' type='" + type + "'/>\n"
                + "      <source file='" + esc(file.toString()) + "'/>\n"
                + "      <target dev='" + dev + "' bus='virtio'/>\n"
                + "    </disk>\n";
    }

    public String xml() {
        return "<domain type='kvm'>\n"
                + "  <name>" + esc(name) + "</name>\n"
                + "  <memory unit='MiB'>" + memoryMiB + "</memory>\n"
                + "  <currentMemory unit='MiB'>" + memoryMiB + "</currentMemory>\n"
                + "  <vcpu placement='static'>" + vcpus + "</vcpu>\n"
                + "  <os>\n"
                + "    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>\n"
                + "    <kernel>" + esc(kernel.toString()) + "</kernel>\n"
                + (initrd == null ? "" : "    <initrd>" + esc(initrd.toString()) + "</initrd>\n")
                + "    <cmdline>" + esc(cmdline) + "</cmdline>\n"
                + "  </os>\n"
                + "  <features><acpi/><apic/></features>\n"
                + cpuElement()
                + "  <clock offset='utc'>\n"
                + "    <timer name='rtc' tickpolicy='catchup'/>\n"
                + "    <timer name='pit' tickpolicy='delay'/>\n"
                + "    <timer name='hpet' present='no'/>\n"
                + "  </clock>\n"
                + "  <on_poweroff>destroy</on_poweroff>\n"
                + "  <on_reboot>restart</on_reboot>\n"
                + "  <on_crash>destroy</on_crash>\n"
                + "  <pm><suspend-to-mem enabled='no'/><suspend-to-disk enabled='no'/></pm>\n"
                + "  <devices>\n"
                + "    <emulator>" + esc(emulator.toString()) + "</emulator>\n"
                + disk("qcow2", qcow2, "vda")
                + disk("raw", raw, "vdb")
                + "    <disk type='file' device='cdrom'>\n"
                + "      <driver name='qemu' type='raw'/>\n"
                + "      <target dev='hdc' bus='ide'/>\n"
                + "      <readonly/>\n"
                + "    </disk>\n"
                + "    <controller type='usb' index='0' model='piix3-uhci'/>\n"
                + "    <controller type='pci' index='0' model='pci-root'/>\n"
                + "    <controller type='ide' index='0'/>\n"
                + "    <controller type='virtio-serial' index='0'/>\n"
                + "    <serial type='pty'><target port='0'/></serial>\n"
                + "    <console type='pty'><target type='serial' port='0'/></console>\n"
                + "    <channel type='unix'>\n"
                + "      <source mode='bind' path='" + esc(channel.toString()) + "'/>\n"
                + "      <target type='virtio' name='org.example.port0'/>\n"
                + "    </channel>\n"
                + "    <input type='mouse' bus='ps2'/>\n"
                + "    <input type='keyboard' bus='ps2'/>\n"
                + "    <audio id='1' type='none'/>\n"
                + "    <watchdog model='i6300esb' action='reset'/>\n"
                + "    <memballoon model='virtio'><stats period='5'/></memballoon>\n"
                + "    <panic model='isa'/>\n"
                + "  </devices>\n"
                + "</domain>\n";
    }
}
