package dev.jvmm.qmp;

import dev.jvmm.core.machine.ChardevControl;
import dev.jvmm.core.machine.ChardevInfo;
import dev.jvmm.core.machine.PciBusInfo;
import dev.jvmm.core.machine.PciControl;
import dev.jvmm.core.machine.PciDeviceInfo;
import dev.jvmm.core.machine.PciRegionInfo;
import dev.jvmm.core.machine.RtcControl;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static dev.jvmm.qmp.QType.Member.opt;
import static dev.jvmm.qmp.QType.Member.req;
import static dev.jvmm.qmp.QmpCommands.obj;

/**
 * The device queries and commands without a group of their own: query-chardev, query-pci and
 * rtc-reset-reinjection, with the RTC_CHANGE and VSERPORT_CHANGE events.
 */
final class QmpDevices {
    private QmpDevices() {
    }

    /** monitors: the QMP sockets' own chardevs, which query-chardev lists after the machine's. */
    static void declare(Schema s, ChardevControl chardevs, Supplier<List<ChardevInfo>> monitors, PciControl pci,
            RtcControl rtc) {
        s.command("query-chardev", QmpCommands.NO_ARGS, QType.array(QType.struct("ChardevInfo",
                req("label", QType.STR), req("filename", QType.STR), req("frontend-open", QType.BOOL))), a -> {
                    List<Object> out = new ArrayList<>();
                    List<ChardevInfo> all = new ArrayList<>(chardevs.list());
                    all.addAll(monitors.get());
                    for (ChardevInfo c : all) {
                        out.add(obj("frontend-open", c.frontendOpen(), "filename", c.filename(), "label", c.label()));
                    }
                    return out;
                });

        QType.Struct pciRegion = QType.struct("PciMemoryRegion", req("bar", QType.INT), req("type", QType.STR),
                req("address", QType.INT), req("size", QType.INT), opt("prefetch", QType.BOOL),
                opt("mem_type_64", QType.BOOL));
        QType.Struct pciDevice = QType.struct("PciDeviceInfo", req("bus", QType.INT), req("slot", QType.INT),
                req("function", QType.INT), req("class_info", QType.struct("PciDeviceClass",
                        opt("desc", QType.STR), req("class", QType.INT))),
                req("id", QType.struct("PciDeviceId", req("device", QType.INT), req("vendor", QType.INT),
                        opt("subsystem", QType.INT), opt("subsystem-vendor", QType.INT))),
                opt("irq", QType.INT), req("irq_pin", QType.INT), req("qdev_id", QType.STR),
                req("regions", QType.array(pciRegion)));
        s.command("query-pci", QmpCommands.NO_ARGS, QType.array(QType.struct("PciInfo", req("bus", QType.INT),
                req("devices", QType.array(pciDevice)))), a -> {
                    List<Object> out = new ArrayList<>();
                    for (PciBusInfo b : pci.buses()) {
                        List<Object> devices = new ArrayList<>();
                        for (PciDeviceInfo d : b.devices()) {
                            devices.add(pciDevice(d));
                        }
                        out.add(obj("bus", (long) b.bus(), "devices", devices));
                    }
                    return out;
                });
        s.action("rtc-reset-reinjection", QmpCommands.NO_ARGS, a -> rtc.resetReinjection());

        s.event("RTC_CHANGE", QType.struct("q_obj_RTC_CHANGE-arg", req("offset", QType.INT),
                req("qom-path", QType.STR)));
        s.event("VSERPORT_CHANGE", QType.struct("q_obj_VSERPORT_CHANGE-arg", req("id", QType.STR),
                req("open", QType.BOOL)));
        s.event("NIC_RX_FILTER_CHANGED", QType.struct("q_obj_NIC_RX_FILTER_CHANGED-arg",
                opt("name", QType.STR), req("path", QType.STR)));
    }

    /** One query-pci device, members in the order QEMU 7.2 writes them. */
    private static Map<String, Object> pciDevice(PciDeviceInfo d) {
        List<Object> regions = new ArrayList<>();
        for (PciRegionInfo r : d.regions()) {
            regions.add(r.io()
                    ? obj("bar", (long) r.bar(), "size", r.size(), "address", r.address(), "type", r.type())
                    : obj("prefetch", r.prefetch(), "mem_type_64", r.memType64(), "bar", (long) r.bar(),
                            "size", r.size(), "address", r.address(), "type", r.type()));
        }
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("irq_pin", (long) d.irqPin());
        o.put("bus", (long) d.bus());
        o.put("qdev_id", d.qdevId());
        if (d.hasIrq()) {
            o.put("irq", (long) d.irq());
        }
        o.put("slot", (long) d.slot());
        // QEMU leaves "desc" out for classes it has no name for (0x0780 virtio-serial, 0x0880 i6300esb)
        o.put("class_info", d.classDesc() == null ? obj("class", (long) d.classCode())
                : obj("class", (long) d.classCode(), "desc", d.classDesc()));
        o.put("id", obj("device", (long) d.device(), "subsystem-vendor", (long) d.subsystemVendor(),
                "vendor", (long) d.vendor(), "subsystem", (long) d.subsystem()));
        o.put("function", (long) d.function());
        o.put("regions", regions);
        return o;
    }
}
