package dev.jvmm.cli;

import dev.jvmm.core.net.NetdevException;

/**
 * A backend's fd= on this machine (QEMU's monitor_fd_param without a monitor): a descriptor number the
 * process inherited; anything else is refused with QEMU's text.
 */
final class NetFds {
    private NetFds() {
    }

    static int parse(String nameOrNumber) throws NetdevException {
        if (!nameOrNumber.isEmpty() && nameOrNumber.chars().allMatch(Character::isDigit)) {
            try {
                return Integer.parseInt(nameOrNumber);
            } catch (NumberFormatException e) {
                // too large: no such descriptor
            }
        }
        throw new NetdevException("Invalid file descriptor number '" + nameOrNumber + "'");
    }
}
