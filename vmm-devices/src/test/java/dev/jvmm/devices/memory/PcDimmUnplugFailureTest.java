package dev.jvmm.devices.memory;

import dev.jvmm.core.event.VmEvent;
import dev.jvmm.core.memory.MemorySlots;
import dev.jvmm.core.objects.MemoryBackend;
import dev.jvmm.devices.acpi.MemoryHotplugRegisters;
import dev.jvmm.devices.model.DeviceModel;
import dev.jvmm.devices.model.TestBoard;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A DIMM the hypervisor will not let go (its memory slot cannot be removed): the guest's eject leaves it
 * plugged, and MEM_UNPLUG_ERROR then DEVICE_UNPLUG_GUEST_ERROR report it, as QEMU 7.2's
 * acpi_memory_hotplug_write does when the unplug handler fails.
 */
class PcDimmUnplugFailureTest {
    private static final int IO_BASE = 0x0a00;
    private static final int SELECT = 0x0;
    private static final int FLAGS = 0x14;
    private static final int EJECT = 8;

    /** Slots that map and then refuse to unmap. */
    private static final class StuckSlots implements MemorySlots {
        final List<Long> added = new ArrayList<>();

        @Override
        public int addSlot(long gpa, long size, long hostAddress, boolean readOnly) {
            added.add(gpa);
            return added.size();
        }

        @Override
        public void removeSlot(int slot) {
            throw new IllegalStateException("KVM_SET_USER_MEMORY_REGION: Invalid argument");
        }
    }

    @Test
    void aDimmWhoseMemoryCannotBeUnmappedStaysAndIsReported() {
        try (TestBoard t = new TestBoard()) {
            MemoryHotplugRegisters regs = new MemoryHotplugRegisters(2, t.events, Runnable::run, () -> { })
                    .attach(t.pio);
            MemoryBackend m1 = new MemoryBackend("m1", MemoryBackend.RAM, 2L << 20, false, null, null, false, false,
                    false, Map.of(), null);
            List<String> mapped = new ArrayList<>();
            PcDimmHotplug dimms = new PcDimmHotplug(PcDimmHotplug.Layout.pc(64L << 20, 1L << 30, 2, 1L << 32, true,
                    "pc.ram"), id -> id.equals("m1") ? Optional.of(m1) : Optional.empty(), new StuckSlots(), t.model,
                    regs, Runnable::run, mapped::add, mapped::remove);
            t.model.setTypeHotplugHandler(PcDimm.TYPE.name(), dimms);
            t.add("pc-dimm,id=d1,memdev=m1");
            assertEquals(List.of("m1"), mapped);

            t.pio.write(IO_BASE + SELECT, 4, 0);
            t.pio.write(IO_BASE + FLAGS, 1, EJECT);

            List<VmEvent> seen = t.published.stream().filter(e -> e instanceof VmEvent.MemUnplugError
                    || e instanceof VmEvent.DeviceUnplugGuestError || e instanceof VmEvent.DeviceDeleted).toList();
            assertEquals(List.of(new VmEvent.MemUnplugError("d1", "KVM_SET_USER_MEMORY_REGION: Invalid argument"),
                    new VmEvent.DeviceUnplugGuestError("d1", "/machine/peripheral/d1")), seen);
            assertEquals(1, dimms.dimms().size(), "the DIMM stays");
            assertEquals(List.of("m1"), mapped, "its backend stays in use");
            assertEquals(1, t.pio.read(IO_BASE + FLAGS, 1) & 1, "the slot still reads enabled");
            Optional<DeviceModel.Device> d1 = t.model.byId("d1");
            assertTrue(d1.isPresent());
        }
    }
}
