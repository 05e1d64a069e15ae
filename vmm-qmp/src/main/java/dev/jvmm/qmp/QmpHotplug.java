package dev.jvmm.qmp;

import dev.jvmm.core.event.AcpiOstInfo;
import dev.jvmm.core.machine.HotplugControl;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.jvmm.qmp.QType.Member.opt;
import static dev.jvmm.qmp.QType.Member.req;

/**
 * Changing the running machine's devices: device_add, device_del, query-acpi-ospm-status, and the events
 * hotplug sends (DEVICE_DELETED, DEVICE_UNPLUG_GUEST_ERROR, ACPI_DEVICE_OST, MEM_UNPLUG_ERROR).
 */
final class QmpHotplug {
    private QmpHotplug() {
    }

    static final QType.Struct OST_INFO = QType.struct("ACPIOSTInfo", opt("device", QType.STR),
            req("slot", QType.STR), req("slot-type", new QType.Enum("ACPISlotType", List.of("DIMM", "CPU"))),
            req("source", QType.INT), req("status", QType.INT));

    static void declare(Schema s, HotplugControl hotplug) {
        // QAPI's 'gen': false: the device's own properties come as further members
        s.action("device_add", QType.openStruct("q_obj_device_add-arg", req("driver", QType.STR),
                opt("bus", QType.STR), opt("id", QType.STR)), hotplug::deviceAdd);
        s.action("device_del", QType.struct("q_obj_device_del-arg", req("id", QType.STR)),
                a -> hotplug.deviceDel((String) a.get("id")));
        s.command("query-acpi-ospm-status", QmpCommands.NO_ARGS, QType.array(OST_INFO), a -> {
            List<Object> out = new ArrayList<>();
            for (AcpiOstInfo i : hotplug.ospmStatus()) {
                out.add(ostInfo(i));
            }
            return out;
        });
        s.event("DEVICE_DELETED", QType.struct("q_obj_DEVICE_DELETED-arg", opt("device", QType.STR),
                req("path", QType.STR)));
        s.event("DEVICE_UNPLUG_GUEST_ERROR", QType.struct("q_obj_DEVICE_UNPLUG_GUEST_ERROR-arg",
                opt("device", QType.STR), req("path", QType.STR)));
        s.event("ACPI_DEVICE_OST", QType.struct("q_obj_ACPI_DEVICE_OST-arg", req("info", OST_INFO)));
        s.event("MEM_UNPLUG_ERROR", QType.struct("q_obj_MEM_UNPLUG_ERROR-arg", req("device", QType.STR),
                req("msg", QType.STR)));
    }

    /** ACPIOSTInfo as QEMU writes it (its QDict's member order; no "device" for an empty slot). */
    static Map<String, Object> ostInfo(AcpiOstInfo i) {
        return QDictOrder.of("device", i.device(), "slot", i.slot(), "slot-type", i.slotType(),
                "source", i.source(), "status", i.status());
    }
}
