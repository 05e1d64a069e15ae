package dev.jvmm.devices.pci;

import dev.jvmm.core.memory.LowMemoryWindows;
import dev.jvmm.core.memory.LowMemoryWindows.Access;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The PAM and SMRAM registers decide what 0xa0000-0xfffff maps to (82441FX datasheet 3.2.17, 3.2.22). */
class I440fxWindowsTest {
    record Mapping(long base, long size, Access access) {
    }

    private final List<Mapping> calls = new ArrayList<>();
    private final LowMemoryWindows recorder = (base, size, access) -> calls.add(new Mapping(base, size, access));

    @Test
    void everyWindowStartsAsPciAfterReset() {
        new I440fxHostBridge(128L << 20, recorder);
        assertEquals(14, calls.size());
        assertTrue(calls.stream().allMatch(m -> m.access() == Access.PCI), calls.toString());
        assertEquals(new Mapping(0xa0000, 0x20000, Access.PCI), calls.get(0));
        assertEquals(new Mapping(0xf0000, 0x10000, Access.PCI), calls.get(1));
        assertEquals(new Mapping(0xc0000, 0x4000, Access.PCI), calls.get(2));
        assertEquals(new Mapping(0xec000, 0x4000, Access.PCI), calls.get(13));
    }

    @Test
    void pamNibblesSelectReadOnlyOrReadWriteRamAndOnlyChangesAreMapped() {
        I440fxHostBridge b = new I440fxHostBridge(128L << 20, recorder);
        calls.clear();
        b.writeConfig(I440fxHostBridge.PAM0, 1, 0x30);   // BIOS area read/write: SeaBIOS shadowing itself
        assertEquals(List.of(new Mapping(0xf0000, 0x10000, Access.RAM)), calls);
        calls.clear();
        b.writeConfig(I440fxHostBridge.PAM0, 1, 0x10);   // then read-only
        assertEquals(List.of(new Mapping(0xf0000, 0x10000, Access.RAM_READ_ONLY)), calls);
        calls.clear();
        b.writeConfig(I440fxHostBridge.PAM0 + 1, 1, 0x21); // 0xc0000 read-only, 0xc4000 write-only (as RAM)
        assertEquals(List.of(new Mapping(0xc0000, 0x4000, Access.RAM_READ_ONLY),
                new Mapping(0xc4000, 0x4000, Access.RAM)), calls);
        calls.clear();
        b.writeConfig(I440fxHostBridge.PAM0 + 1, 1, 0x21);
        b.writeConfig(0x40, 4, 0x12345678);               // far from PAM/SMRAM
        assertEquals(List.of(), calls);
    }

    @Test
    void smramOpenShowsTheRamUnderTheVideoWindowAndResetRestoresPci() {
        I440fxHostBridge b = new I440fxHostBridge(128L << 20, recorder);
        calls.clear();
        b.writeConfig(I440fxHostBridge.SMRAM, 1, I440fxHostBridge.SMRAM_D_OPEN | 0x0a);
        assertEquals(List.of(new Mapping(0xa0000, 0x20000, Access.RAM)), calls);
        b.writeConfig(I440fxHostBridge.PAM0 + 6, 1, 0x33);
        calls.clear();
        b.reset();
        assertEquals(List.of(new Mapping(0xa0000, 0x20000, Access.PCI), new Mapping(0xe8000, 0x4000, Access.PCI),
                new Mapping(0xec000, 0x4000, Access.PCI)), calls);
    }

    @Test
    void aDwordWriteAcrossSeveralPamRegistersMapsEachWindow() {
        I440fxHostBridge b = new I440fxHostBridge(128L << 20, recorder);
        calls.clear();
        b.writeConfig(0x58, 4, 0x33333300);   // PAM0..PAM2 from one aligned dword write at 0x58
        assertEquals(5, calls.size(), calls.toString());
        assertTrue(calls.stream().allMatch(m -> m.access() == Access.RAM), calls.toString());
    }
}
