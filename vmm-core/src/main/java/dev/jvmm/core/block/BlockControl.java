package dev.jvmm.core.block;

import dev.jvmm.core.machine.MachineCommandException;

import java.util.List;
import java.util.Map;

/**
 * What the block QMP commands ask of a machine's drives. {@link BlockGraph} answers them all; a machine
 * without a graph uses {@link #NONE}, which answers as QEMU does on a machine with no drives.
 */
public interface BlockControl {
    /** query-block: every drive. */
    List<BlockInfo> queryBlock();

    /** query-blockstats; queryNodes lists every node instead of every drive. */
    List<BlockStatsInfo> queryBlockstats(boolean queryNodes);

    /** query-named-block-nodes; flat leaves the backing images out of each "image". */
    List<BlockDeviceInfo> queryNamedBlockNodes(boolean flat);

    /** block_resize (device or nodeName may be null), with QEMU's errors. */
    void blockResize(String device, String nodeName, long size) throws MachineCommandException;

    /** eject; device is a drive name, id a device id or QOM path (exactly one). */
    void eject(String device, String id, boolean force) throws MachineCommandException;

    /** blockdev-open-tray. */
    void openTray(String device, String id, boolean force) throws MachineCommandException;

    /** blockdev-close-tray. */
    void closeTray(String device, String id) throws MachineCommandException;

    /** blockdev-remove-medium (QMP gives only id; eject passes device too). */
    void removeMedium(String device, String id) throws MachineCommandException;

    /** blockdev-insert-medium. */
    void insertMedium(String id, String nodeName) throws MachineCommandException;

    /** blockdev-change-medium; format null probes, mode null is retain. */
    void changeMedium(String device, String id, String filename, String format, boolean force,
            BlockGraph.ReadOnlyMode mode) throws MachineCommandException;

    /** blockdev-add: the arguments as a -blockdev JSON tree (see {@link BlockGraph#blockdevAdd}). */
    BlockNode blockdevAdd(Map<String, Object> tree) throws MachineCommandException;

    /** blockdev-del. */
    void blockdevDel(String nodeName) throws MachineCommandException;

    /** A machine without drives: empty queries, and every lookup fails as QEMU's does for a missing device. */
    BlockControl NONE = new BlockControl() {
        @Override
        public List<BlockInfo> queryBlock() {
            return List.of();
        }

        @Override
        public List<BlockStatsInfo> queryBlockstats(boolean queryNodes) {
            return List.of();
        }

        @Override
        public List<BlockDeviceInfo> queryNamedBlockNodes(boolean flat) {
            return List.of();
        }

        @Override
        public void blockResize(String device, String nodeName, long size) throws MachineCommandException {
            throw MachineCommandException.generic("Cannot find device='" + (device == null ? "" : device)
                    + "' nor node-name='" + (nodeName == null ? "" : nodeName) + "'");
        }

        @Override
        public void eject(String device, String id, boolean force) throws MachineCommandException {
            throw noDrive(device, id);
        }

        @Override
        public void openTray(String device, String id, boolean force) throws MachineCommandException {
            throw noDrive(device, id);
        }

        @Override
        public void closeTray(String device, String id) throws MachineCommandException {
            throw noDrive(device, id);
        }

        @Override
        public void removeMedium(String device, String id) throws MachineCommandException {
            throw noDrive(device, id);
        }

        @Override
        public void insertMedium(String id, String nodeName) throws MachineCommandException {
            throw noDrive(null, id);
        }

        @Override
        public void changeMedium(String device, String id, String filename, String format, boolean force,
                BlockGraph.ReadOnlyMode mode) throws MachineCommandException {
            throw noDrive(device, id);
        }

        @Override
        public BlockNode blockdevAdd(Map<String, Object> tree) throws MachineCommandException {
            throw MachineCommandException.generic("This machine has no block devices");
        }

        @Override
        public void blockdevDel(String nodeName) throws MachineCommandException {
            throw MachineCommandException.generic("Failed to find node with node-name='" + nodeName + "'");
        }

        private static MachineCommandException noDrive(String device, String id) {
            if ((device == null) == (id == null)) {
                return MachineCommandException.generic("Need exactly one of 'device' and 'id'");
            }
            return new MachineCommandException(MachineCommandException.DEVICE_NOT_FOUND,
                    "Device '" + (device != null ? device : id) + "' not found");
        }
    };
}
