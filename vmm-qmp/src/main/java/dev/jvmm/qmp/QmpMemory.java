package dev.jvmm.qmp;

import dev.jvmm.core.machine.MemoryControl;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.jvmm.qmp.QType.Member.req;
import static dev.jvmm.qmp.QType.Member.opt;

/** The machine's memory (QEMU 7.2 qapi/machine.json): query-memory-size-summary and query-memory-devices. */
final class QmpMemory {
    private QmpMemory() {
    }

    static final QType.Struct MEMORY_INFO = QType.struct("MemoryInfo", req("base-memory", QType.INT),
            opt("plugged-memory", QType.INT));

    static final QType.Struct DIMM_INFO = QType.struct("PCDIMMDeviceInfo", opt("id", QType.STR),
            req("addr", QType.INT), req("size", QType.INT), req("slot", QType.INT), req("node", QType.INT),
            req("memdev", QType.STR), req("hotplugged", QType.BOOL), req("hotpluggable", QType.BOOL));

    static final QType.Struct DIMM_WRAPPER = QType.struct("PCDIMMDeviceInfoWrapper", req("data", DIMM_INFO));

    static final QType.Struct DEVICE_INFO = QType.union("MemoryDeviceInfo",
            List.of(req("type", new QType.Enum("MemoryDeviceInfoKind",
                    List.of("dimm", "nvdimm", "virtio-pmem", "virtio-mem", "sgx-epc")))),
            "type", List.of(new QType.Variant("dimm", DIMM_WRAPPER), new QType.Variant("nvdimm", DIMM_WRAPPER)));

    static void declare(Schema s, MemoryControl memory) {
        s.command("query-memory-size-summary", QmpCommands.NO_ARGS, MEMORY_INFO,
                a -> QDictOrder.of("base-memory", memory.baseMemory(), "plugged-memory", memory.pluggedMemory()));
        s.command("query-memory-devices", QmpCommands.NO_ARGS, QType.array(DEVICE_INFO), a -> {
            List<Object> out = new ArrayList<>();
            for (MemoryControl.DimmInfo d : memory.memoryDevices()) {
                out.add(QDictOrder.of("type", "dimm", "data", dimm(d)));
            }
            return out;
        });
    }

    /** PCDIMMDeviceInfo as QEMU writes it (its QDict's member order; no "id" for an anonymous DIMM). */
    static Map<String, Object> dimm(MemoryControl.DimmInfo d) {
        return QDictOrder.of("id", d.id(), "addr", d.addr(), "size", d.size(), "slot", d.slot(), "node", d.node(),
                "memdev", d.memdev(), "hotplugged", d.hotplugged(), "hotpluggable", d.hotpluggable());
    }
}
