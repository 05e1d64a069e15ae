package dev.jvmm.devices.usb;

import dev.jvmm.core.memory.GuestMemory;

/**
 * Intel UHCI Design Guide rev 1.1, chapter 3: one frame's walk of the schedule in guest memory (frame list
 * pointer, queue heads, transfer descriptors) with no device on the bus, for {@link Piix3Uhci}.
 *
 * <p>The walk is bounded: at most {@link #MAX_LINKS_PER_FRAME} queue heads and TDs a frame, and a loop through
 * the queue heads (full-speed bandwidth reclamation) ends the frame once a round tried no active TD. Every
 * active TD gets no handshake: CRC/Time Out, one error counted, and retirement when the counter reaches zero.
 * A failed TD never advances its queue, so the walk goes on with the queue head's horizontal link.
 */
public final class UhciSchedule {
    /** 3.1 frame list pointers and 3.2/3.3 link pointers: Terminate, QH/TD select, Depth/breadth select. */
    public static final int LINK_T = 1;
    public static final int LINK_Q = 1 << 1;
    public static final int LINK_VF = 1 << 2;
    public static final int LINK_POINTER = 0xfffffff0;
    public static final int FRAME_LIST_ENTRIES = 1024;
    /** 3.3: queue head link pointer and queue element link pointer. */
    public static final int QH_LINK = 0;
    public static final int QH_ELEMENT = 4;
    public static final int QH_SIZE = 8;
    /** 3.2: TD link pointer, control and status, token, buffer pointer. */
    public static final int TD_LINK = 0;
    public static final int TD_CONTROL_STATUS = 4;
    public static final int TD_TOKEN = 8;
    public static final int TD_SIZE = 16;

    /** 3.2.2 TD CONTROL AND STATUS. */
    public static final int TD_SPD = 1 << 29;
    public static final int TD_C_ERR_SHIFT = 27;
    public static final int TD_C_ERR = 3 << TD_C_ERR_SHIFT;
    public static final int TD_LS = 1 << 26;
    public static final int TD_IOS = 1 << 25;
    public static final int TD_IOC = 1 << 24;
    public static final int TD_ACTIVE = 1 << 23;
    public static final int TD_STALLED = 1 << 22;
    public static final int TD_DATA_BUFFER_ERROR = 1 << 21;
    public static final int TD_BABBLE = 1 << 20;
    public static final int TD_NAK = 1 << 19;
    public static final int TD_CRC_TIMEOUT = 1 << 18;
    public static final int TD_BITSTUFF = 1 << 17;
    /** 3.2.3 TD TOKEN packet identifications. */
    public static final int PID_IN = 0x69;
    public static final int PID_OUT = 0xe1;
    public static final int PID_SETUP = 0x2d;

    /** Queue heads and TDs looked at in one frame at most: a frame's bus time bounds the real controller too. */
    public static final int MAX_LINKS_PER_FRAME = 256;
    /** Queue heads remembered per frame for loop detection; past that, the link bound alone ends the frame. */
    static final int MAX_QUEUE_HEADS_TRACKED = 128;

    /** What a frame found, as bits of {@link #runFrame}'s result. */
    static final int RAISE_IOC = 1;
    static final int RAISE_ERROR = 1 << 1;
    static final int HOST_SYSTEM_ERROR = 1 << 2;
    static final int PROCESS_ERROR = 1 << 3;

    private final GuestMemory memory;
    /** The queue heads met in the frame being run (used under the controller's lock). */
    private final long[] visited = new long[MAX_QUEUE_HEADS_TRACKED];

    UhciSchedule(GuestMemory memory) {
        this.memory = memory;
    }

    /**
     * Runs frame frnum of the frame list at flbaseadd: RAISE_IOC where a TD asked for an interrupt on
     * completion (also one fetched already inactive, 3.2.2), RAISE_ERROR where a TD was retired in error,
     * HOST_SYSTEM_ERROR where a structure lies outside guest RAM, PROCESS_ERROR for an unknown PID; the
     * last two end the frame.
     */
    int runFrame(int flbaseadd, int frnum) {
        long entry = (flbaseadd & 0xfffff000L) + 4L * (frnum & (FRAME_LIST_ENTRIES - 1));
        if (!memory.contains(entry, 4)) {
            return HOST_SYSTEM_ERROR;
        }
        int found = 0;
        int link = memory.readInt(entry);
        long queueHead = -1;
        int queueHeadLink = LINK_T;
        int seen = 0;
        boolean tried = false;
        for (int n = 0; n < MAX_LINKS_PER_FRAME && (link & LINK_T) == 0; n++) {
            long addr = link & (LINK_POINTER & 0xffffffffL);
            if ((link & LINK_Q) != 0) {
                if (seen(addr, seen)) {
                    if (!tried) {
                        return found;
                    }
                    seen = 0;
                    tried = false;
                }
                if (seen < visited.length) {
                    visited[seen++] = addr;
                }
                if (!memory.contains(addr, QH_SIZE)) {
                    return found | HOST_SYSTEM_ERROR;
                }
                int head = memory.readInt(addr + QH_LINK);
                int element = memory.readInt(addr + QH_ELEMENT);
                if ((element & LINK_T) != 0) {
                    queueHead = -1;
                    link = head;
                } else {
                    queueHead = addr;
                    queueHeadLink = head;
                    link = element;
                }
                continue;
            }
            if (!memory.contains(addr, TD_SIZE)) {
                return found | HOST_SYSTEM_ERROR;
            }
            int tdLink = memory.readInt(addr + TD_LINK);
            int ctrl = memory.readInt(addr + TD_CONTROL_STATUS);
            int token = memory.readInt(addr + TD_TOKEN);
            if ((ctrl & TD_ACTIVE) != 0) {
                tried = true;
                int pid = token & 0xff;
                if (pid != PID_IN && pid != PID_OUT && pid != PID_SETUP) {
                    return found | PROCESS_ERROR;
                }
                int after = noHandshake(ctrl);
                if (after != ctrl) {
                    memory.writeInt(addr + TD_CONTROL_STATUS, after);
                }
                if ((after & TD_ACTIVE) == 0) {
                    found |= RAISE_ERROR | ((ctrl & TD_IOC) != 0 ? RAISE_IOC : 0);
                }
            } else if ((ctrl & TD_IOC) != 0) {
                found |= RAISE_IOC;
            }
            link = queueHead >= 0 ? queueHeadLink : tdLink;
            queueHead = -1;
        }
        return found;
    }

    private boolean seen(long queueHead, int count) {
        for (int i = 0; i < count; i++) {
            if (visited[i] == queueHead) {
                return true;
            }
        }
        return false;
    }

    /**
     * A transaction no device answers (3.2.2): CRC/Time Out set and one error counted; at zero the TD is
     * retired (Active cleared). A counter of 0 means no limit: the TD stays active and is tried next frame.
     */
    static int noHandshake(int ctrl) {
        int after = ctrl | TD_CRC_TIMEOUT;
        int errors = (ctrl & TD_C_ERR) >>> TD_C_ERR_SHIFT;
        if (errors == 0) {
            return after;
        }
        errors--;
        after = (after & ~TD_C_ERR) | (errors << TD_C_ERR_SHIFT);
        return errors == 0 ? after & ~TD_ACTIVE : after;
    }
}
