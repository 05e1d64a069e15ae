package dev.jvmm.devices.pc;

import dev.jvmm.core.qom.PropType;
import dev.jvmm.core.qom.Property;
import dev.jvmm.core.qom.PropertyException;
import dev.jvmm.core.qom.TypeInfo;
import dev.jvmm.devices.model.DeviceClass;
import dev.jvmm.devices.model.DeviceInstance;

import java.util.List;

/**
 * The devices KVM emulates in the kernel (KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2), declared as QEMU 7.2
 * declares its kvm-pit and kvm-i8259 front ends (hw/i386/kvm/i8254.c, i8259.c) so that the board's QOM tree,
 * -global and the unattached numbering match QEMU's. Their realization here only checks the settings: the
 * machine creates the in-kernel devices with the VM.
 */
public final class InKernelDevices {
    private InKernelDevices() {
    }

    public static final TypeInfo PIT_COMMON = TypeInfo.abstractType("pit-common", "isa-device").build();

    /** The 8254 PIT at 0x40; KVM re-injects the ticks a guest misses, QEMU's "delay" policy. */
    public static final TypeInfo KVM_PIT = TypeInfo.type("kvm-pit", "pit-common").notUserCreatable()
            .props(Property.of("lost_tick_policy", PropType.LOST_TICK_POLICY, "delay"),
                    Property.of("iobase", PropType.UINT32, 0xffff_ffffL))
            .build();

    public static final DeviceClass KVM_PIT_CLASS = new DeviceClass(KVM_PIT, (ctx, p, where) -> {
        switch (p.str("lost_tick_policy").orElseThrow()) {
            case "delay" -> { }
            case "discard" -> throw new PropertyException("kvm-pit: lost_tick_policy=discard is not supported by"
                    + " jvmm (KVM's PIT re-injects lost ticks)");
            default -> throw new PropertyException("Lost tick policy not supported.");
        }
        return DeviceInstance.STATELESS;
    });

    /** QEMU's i8259 properties, which the board sets for the master at 0x20 and the slave at 0xa0. */
    public static final TypeInfo PIC_COMMON = TypeInfo.abstractType("pic-common", "isa-device")
            .implementing("intctrl")
            .props(Property.of("master", PropType.BIT, false),
                    Property.of("elcr_mask", PropType.UINT8, 0xffL),
                    Property.of("elcr_addr", PropType.UINT32, 0xffff_ffffL),
                    Property.of("iobase", PropType.UINT32, 0xffff_ffffL))
            .build();

    public static final TypeInfo KVM_I8259 = TypeInfo.type("kvm-i8259", "pic-common").notUserCreatable().build();

    public static final DeviceClass KVM_I8259_CLASS = new DeviceClass(KVM_I8259, (ctx, p, where) -> {
        return DeviceInstance.STATELESS;
    });

    /** The abstract types and the interface only these list. */
    public static List<TypeInfo> abstractTypes() {
        return List.of(PIT_COMMON, PIC_COMMON, TypeInfo.iface("intctrl"));
    }

    public static List<DeviceClass> classes() {
        return List.of(KVM_PIT_CLASS, KVM_I8259_CLASS);
    }
}
