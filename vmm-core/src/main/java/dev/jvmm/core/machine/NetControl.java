package dev.jvmm.core.machine;

import dev.jvmm.core.fd.NamedFds;
import dev.jvmm.core.net.Announcer;
import dev.jvmm.core.net.RxFilterInfo;

import java.util.List;
import java.util.Map;

/**
 * The machine's network for QMP and HMP: netdev_add, netdev_del, set_link, query-rx-filter, announce-self,
 * "info network" and the user backend's host forwarding. Errors carry QEMU 7.2's classes and texts.
 */
public interface NetControl {
    /**
     * netdev_add: a backend of type with id and the type's members (already checked against the schema);
     * monitorFds is the asking monitor's getfd descriptors, where an fd= that is a name is taken from (QEMU's
     * monitor_fd_param), or null for a monitor without any (HMP).
     */
    void netdevAdd(String type, String id, Map<String, Object> args, NamedFds monitorFds)
            throws MachineCommandException;

    void netdevDel(String id) throws MachineCommandException;

    void setLink(String name, boolean up) throws MachineCommandException;

    /** query-rx-filter for the NIC named name, or every NIC for null. */
    List<RxFilterInfo> queryRxFilter(String name) throws MachineCommandException;

    void announceSelf(Announcer.Parameters p) throws MachineCommandException;

    /** HMP "info network", lines ending in '\n'. */
    String infoNetwork();

    /** HMP hostfwd_add [netdev_id] rule: what the monitor prints (empty when the rule was added). */
    String hostfwdAdd(String netdevId, String rule);

    /** HMP hostfwd_remove [netdev_id] [tcp|udp]:[hostaddr]:hostport: what the monitor prints. */
    String hostfwdRemove(String netdevId, String rule);

    /** A machine without a network: nothing to find, and no backend can be made. */
    NetControl NONE = new NetControl() {
        @Override
        public void netdevAdd(String type, String id, Map<String, Object> args, NamedFds monitorFds)
                throws MachineCommandException {
            throw MachineCommandException.generic("network backend '" + type + "' is not compiled into this binary");
        }

        @Override
        public void netdevDel(String id) throws MachineCommandException {
            throw notFound(id);
        }

        @Override
        public void setLink(String name, boolean up) throws MachineCommandException {
            throw notFound(name);
        }

        @Override
        public List<RxFilterInfo> queryRxFilter(String name) throws MachineCommandException {
            if (name != null) {
                throw MachineCommandException.generic("invalid net client name: " + name);
            }
            return List.of();
        }

        @Override
        public void announceSelf(Announcer.Parameters p) {
        }

        @Override
        public String infoNetwork() {
            return "";
        }

        @Override
        public String hostfwdAdd(String netdevId, String rule) {
            return netdevId != null ? "unrecognized netdev id '" + netdevId + "'\n"
                    : "user mode network stack not in use\n";
        }

        @Override
        public String hostfwdRemove(String netdevId, String rule) {
            return hostfwdAdd(netdevId, rule);
        }
    };

    /** QEMU's DeviceNotFound for a name no net client has. */
    static MachineCommandException notFound(String name) {
        return new MachineCommandException(MachineCommandException.DEVICE_NOT_FOUND,
                "Device '" + name + "' not found");
    }
}
