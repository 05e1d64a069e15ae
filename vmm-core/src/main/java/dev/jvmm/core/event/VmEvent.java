package dev.jvmm.core.event;

import dev.jvmm.core.state.ShutdownCause;

/**
 * Everything the machine tells the outside world. The QMP server turns each into QEMU's event of the
 * same name; new events are added here, so every consumer's switch stays exhaustive.
 */
public sealed interface VmEvent {
    /** QEMU's event name on the wire. */
    String name();

    record Shutdown(boolean guest, ShutdownCause reason) implements VmEvent {
        public String name() {
            return "SHUTDOWN";
        }
    }

    record Reset(boolean guest, ShutdownCause reason) implements VmEvent {
        public String name() {
            return "RESET";
        }
    }

    record Stop() implements VmEvent {
        public String name() {
            return "STOP";
        }
    }

    record Resume() implements VmEvent {
        public String name() {
            return "RESUME";
        }
    }

    record Powerdown() implements VmEvent {
        public String name() {
            return "POWERDOWN";
        }
    }

    /** GUEST_PANICKED; action is QEMU's GuestPanicAction: "pause", "poweroff" or "run". */
    record GuestPanicked(String action) implements VmEvent {
        public String name() {
            return "GUEST_PANICKED";
        }
    }

    /** WATCHDOG; action is QEMU's WatchdogAction wire name. Rate-limited by QMP to one a second. */
    record Watchdog(String action) implements VmEvent {
        public String name() {
            return "WATCHDOG";
        }
    }

    /** The guest entered ACPI S3 (QEMU's SUSPEND, no data). */
    record Suspend() implements VmEvent {
        public String name() {
            return "SUSPEND";
        }
    }

    /** The guest asked for ACPI S4; QEMU emits SUSPEND_DISK and then shuts down. */
    record SuspendDisk() implements VmEvent {
        public String name() {
            return "SUSPEND_DISK";
        }
    }

    /** The guest woke from S3 (system_wakeup or a wake-up device). */
    record Wakeup() implements VmEvent {
        public String name() {
            return "WAKEUP";
        }
    }

    /**
     * The guest set its real-time clock.
     *
     * @param offset  guest RTC time minus host UTC, in seconds
     * @param qomPath the RTC's QOM path, which QEMU 7.2 includes
     */
    record RtcChange(long offset, String qomPath) implements VmEvent {
        public String name() {
            return "RTC_CHANGE";
        }
    }

    /** The guest's crash kernel was loaded (pvpanic bit 1); QEMU keeps running and reports action "run". */
    record GuestCrashloaded(String action) implements VmEvent {
        public String name() {
            return "GUEST_CRASHLOADED";
        }
    }

    /**
     * BLOCK_IO_ERROR as QEMU 7.2 sends it.
     *
     * @param device    the drive's BlockBackend name ("" when the drive has none, e.g. -blockdev + -device)
     * @param nodeName  the node that failed, or null when there is none to name
     * @param operation "read" or "write"
     * @param action    "ignore", "report" or "stop"
     * @param nospace   whether the error was ENOSPC; null leaves it out, as QEMU 7.2 does when the drive does
     *                  not track io-status (werror neither enospc nor stop and rerror not stop, or no device)
     * @param reason    strerror text of the host error
     */
    record BlockIoError(String device, String nodeName, String operation, String action, Boolean nospace,
                        String reason) implements VmEvent {
        public String name() {
            return "BLOCK_IO_ERROR";
        }
    }

    /**
     * DEVICE_TRAY_MOVED as QEMU 7.2 sends it, whenever a device's tray really changes state (QMP or guest).
     *
     * @param device   the drive's BlockBackend name ("" for an anonymous backend, e.g. ide-cd without drive=)
     * @param id       the device's id, or its QOM path when it has none
     * @param trayOpen whether the tray is now open
     */
    record DeviceTrayMoved(String device, String id, boolean trayOpen) implements VmEvent {
        public String name() {
            return "DEVICE_TRAY_MOVED";
        }
    }

    /**
     * VSERPORT_CHANGE: the guest opened or closed a virtio-serial port (VIRTIO_CONSOLE_PORT_OPEN).
     * Rate-limited per id by QMP.
     *
     * @param id   the port device's id (its QOM path when it has none)
     * @param open whether the guest now has the port open
     */
    record VserportChange(String id, boolean open) implements VmEvent {
        public String name() {
            return "VSERPORT_CHANGE";
        }
    }

    /**
     * BALLOON_CHANGE: the guest's balloon moved. Rate-limited by QMP to one a second.
     *
     * @param actual guest RAM minus the balloon, in bytes (query-balloon's "actual")
     */
    record BalloonChange(long actual) implements VmEvent {
        public String name() {
            return "BALLOON_CHANGE";
        }
    }

    /**
     * NIC_RX_FILTER_CHANGED: the guest changed a NIC's receive filter (virtio-net's control queue). Sent once,
     * then not again until query-rx-filter has read the NIC's filter.
     *
     * @param nicName the NIC's id ("name" on the wire), or null when it has none (QEMU then omits "name")
     * @param path    the QOM path of the NIC's device (virtio-net-pci's virtio-backend child)
     */
    record NicRxFilterChanged(String nicName, String path) implements VmEvent {
        public String name() {
            return "NIC_RX_FILTER_CHANGED";
        }
    }

    /**
     * NETDEV_STREAM_CONNECTED: a stream netdev connected.
     *
     * @param addr the peer's SocketAddress as QMP writes it ({"type": "inet", "host": ..., "port": ...})
     */
    record NetdevStreamConnected(String netdevId, java.util.Map<String, Object> addr) implements VmEvent {
        public String name() {
            return "NETDEV_STREAM_CONNECTED";
        }
    }

    /** NETDEV_STREAM_DISCONNECTED: a stream netdev lost its peer. */
    record NetdevStreamDisconnected(String netdevId) implements VmEvent {
        public String name() {
            return "NETDEV_STREAM_DISCONNECTED";
        }
    }

    /**
     * DEVICE_DELETED: a device left the machine (the guest ejected it, or it was never visible to one). QEMU
     * sends it once per realized device object, a virtio proxy's backend included.
     *
     * @param device the device's id, or null when it has none (QEMU then omits "device")
     * @param path   the device's QOM path
     */
    record DeviceDeleted(String device, String path) implements VmEvent {
        public String name() {
            return "DEVICE_DELETED";
        }
    }

    /** DEVICE_UNPLUG_GUEST_ERROR: the guest refused to release a device that device_del asked for. */
    record DeviceUnplugGuestError(String device, String path) implements VmEvent {
        public String name() {
            return "DEVICE_UNPLUG_GUEST_ERROR";
        }
    }

    /** ACPI_DEVICE_OST: the guest's _OST report for a hotplug slot. */
    record AcpiDeviceOst(AcpiOstInfo info) implements VmEvent {
        public String name() {
            return "ACPI_DEVICE_OST";
        }
    }

    /** MEM_UNPLUG_ERROR: the guest refused to release a DIMM (QEMU 7.2 still sends it next to the above). */
    record MemUnplugError(String device, String msg) implements VmEvent {
        public String name() {
            return "MEM_UNPLUG_ERROR";
        }
    }
}
