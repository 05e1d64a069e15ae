package dev.jvmm.cli;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.kvm.seccomp.DenyGroup;
import org.junit.jupiter.api.Test;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** -sandbox read as QEMU 7.2 reads it (the filter itself: vmm-kvm's SandboxTest and the tests module). */
class SandboxOptionTest {
    private static List<MachineConfig.SandboxArg> sandboxes(String... args) {
        QemuCommandLine cl = new QemuCommandLine();
        cl.read(args);
        return MachineConfigParser.parse(cl).sandboxes();
    }

    private static Set<DenyGroup> groups(String text) {
        List<MachineConfig.SandboxArg> s = sandboxes("-sandbox", text);
        assertEquals(1, s.size(), text);
        assertEquals("-sandbox " + text, s.get(0).option());
        return s.get(0).sandbox().groups();
    }

    @Test
    void libvirtsSpellingDeniesEveryGroup() {
        assertEquals(EnumSet.allOf(DenyGroup.class),
                groups("on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"));
    }

    @Test
    void onAloneDeniesTheDefaultAndObsoleteSets() {
        assertEquals(EnumSet.of(DenyGroup.DEFAULT, DenyGroup.OBSOLETE), groups("on"));
        assertEquals(EnumSet.of(DenyGroup.DEFAULT), groups("on,obsolete=allow"));
        assertEquals(EnumSet.of(DenyGroup.DEFAULT, DenyGroup.OBSOLETE), groups("on,elevateprivileges=allow,spawn=allow,resourcecontrol=allow"));
    }

    @Test
    void childrenDeniesPrivilegesAndSetsNoNewPrivsFirst() {
        List<MachineConfig.SandboxArg> s = sandboxes("-sandbox", "on,elevateprivileges=children");
        assertTrue(s.get(0).sandbox().groups().contains(DenyGroup.ELEVATE_PRIVILEGES));
        assertTrue(s.get(0).sandbox().noNewPrivsFirst());
        assertFalse(sandboxes("-sandbox", "on,elevateprivileges=deny").get(0).sandbox().noNewPrivsFirst());
    }

    @Test
    void offOrNoEnableInstallsNothingAndChecksNothing() {
        assertEquals(List.of(), sandboxes("-sandbox", "off"));
        assertEquals(List.of(), sandboxes("-sandbox", "off,spawn=maybe"));
        assertEquals(List.of(), sandboxes("-sandbox", "spawn=deny"));
        assertEquals(List.of(), sandboxes("-sandbox", "on,enable=off"));
        assertEquals(List.of(), sandboxes());
    }

    @Test
    void eachSandboxOptionIsOneFilter() {
        assertEquals(2, sandboxes("-sandbox", "on", "-sandbox", "on,spawn=deny").size());
    }

    @Test
    void qemusErrors() {
        for (String[] c : new String[][] {
                {"on,spawn=maybe", "invalid argument for spawn"},
                {"on,obsolete=deny,obsolete=x", "invalid argument for obsolete"},
                {"on,elevateprivileges=yes", "invalid argument for elevateprivileges"},
                {"on,resourcecontrol=", "invalid argument for resourcecontrol"},
                {"maybe", "Parameter 'enable' expects 'on' or 'off'"},
                {"on,nosuch=1", "Invalid parameter 'nosuch'"}}) {
            OptionException e = assertThrows(OptionException.class, () -> sandboxes("-sandbox", c[0]), c[0]);
            assertEquals("-sandbox " + c[0] + ": " + c[1], e.formatted());
        }
    }
}
