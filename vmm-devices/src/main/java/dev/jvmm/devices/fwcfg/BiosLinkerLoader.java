package dev.jvmm.devices.fwcfg;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The command list of the fw_cfg file "etc/table-loader" (QEMU 7.2 hw/acpi/bios-linker-loader.c, which
 * SeaBIOS's romfile_loader runs): 128-byte little-endian commands that allocate fw_cfg files in guest
 * memory, patch pointers between them and fix up checksums.
 *
 * <p>As in QEMU, the commands patch the registered blobs themselves: ADD_POINTER writes the source offset
 * into the pointer field (the firmware adds the allocated address), ADD_CHECKSUM zeroes the checksum
 * byte (the firmware computes it). ALLOCATE commands go before all others, the latest first, because
 * QEMU prepends them.
 */
public final class BiosLinkerLoader {
    /** The fw_cfg file holding the commands. */
    public static final String LOADER_FILE = "etc/table-loader";
    /** Command codes (BIOS_LINKER_LOADER_COMMAND_*). */
    public static final int COMMAND_ALLOCATE = 0x1;
    public static final int COMMAND_ADD_POINTER = 0x2;
    public static final int COMMAND_ADD_CHECKSUM = 0x3;
    public static final int COMMAND_WRITE_POINTER = 0x4;
    /** ALLOCATE zones: anywhere in high memory, or the F segment (0xE0000-0xFFFFF) the RSDP must live in. */
    public static final int ALLOC_ZONE_HIGH = 0x1;
    public static final int ALLOC_ZONE_FSEG = 0x2;
    /** BIOS_LINKER_LOADER_FILESZ: a file name field, NUL included. */
    public static final int FILESZ = FwCfgItems.FW_CFG_MAX_FILE_PATH;
    /** One command: the 32-bit code and a 124-byte union. */
    public static final int ENTRY_SIZE = 128;

    private final Map<String, byte[]> files = new HashMap<>();
    private final List<byte[]> allocations = new ArrayList<>();
    private final List<byte[]> commands = new ArrayList<>();

    /**
     * ALLOCATE: the firmware loads file into the zone at an align-aligned address. The blob is the file's
     * content, which later commands patch in place.
     *
     * @throws IllegalArgumentException if align is not a power of two or the file is already allocated
     */
    public void allocate(String file, byte[] blob, int align, boolean fseg) {
        if (Integer.bitCount(align) != 1) {
            throw new IllegalArgumentException("alignment must be a power of two: " + align);
        }
        if (files.putIfAbsent(file, blob) != null) {
            throw new IllegalArgumentException("file allocated twice: " + file);
        }
        ByteBuffer e = entry(COMMAND_ALLOCATE);
        putName(e, 4, file);
        e.putInt(4 + FILESZ, align);
        e.put(4 + FILESZ + 4, (byte) (fseg ? ALLOC_ZONE_FSEG : ALLOC_ZONE_HIGH));
        allocations.add(0, e.array());
    }

    /**
     * ADD_POINTER: the size-byte field at destOffset of destFile gets srcOffset now, and the firmware
     * adds srcFile's address to it.
     */
    public void addPointer(String destFile, int destOffset, int size, String srcFile, int srcOffset) {
        byte[] dest = blob(destFile);
        byte[] src = blob(srcFile);
        if (size != 1 && size != 2 && size != 4 && size != 8) {
            throw new IllegalArgumentException("pointer size must be 1, 2, 4 or 8: " + size);
        }
        if (destOffset < 0 || destOffset + size > dest.length || srcOffset < 0 || srcOffset >= src.length) {
            throw new IllegalArgumentException("pointer outside its files");
        }
        for (int i = 0; i < size; i++) {
            dest[destOffset + i] = (byte) ((long) srcOffset >>> (8 * i));
        }
        ByteBuffer e = entry(COMMAND_ADD_POINTER);
        putName(e, 4, destFile);
        putName(e, 4 + FILESZ, srcFile);
        e.putInt(4 + 2 * FILESZ, destOffset);
        e.put(4 + 2 * FILESZ + 4, (byte) size);
        commands.add(e.array());
    }

    /**
     * ADD_CHECKSUM: the byte at checksumOffset of file is zeroed now, and the firmware sets it so that
     * [start, start+length) sums to 0.
     */
    public void addChecksum(String file, int start, int length, int checksumOffset) {
        byte[] blob = blob(file);
        if (start < 0 || length <= 0 || start + length > blob.length || checksumOffset < start
                || checksumOffset >= start + length) {
            throw new IllegalArgumentException("checksum outside its file");
        }
        blob[checksumOffset] = 0;
        ByteBuffer e = entry(COMMAND_ADD_CHECKSUM);
        putName(e, 4, file);
        e.putInt(4 + FILESZ, checksumOffset);
        e.putInt(4 + FILESZ + 4, start);
        e.putInt(4 + FILESZ + 8, length);
        commands.add(e.array());
    }

    /**
     * WRITE_POINTER: the firmware writes srcFile's address plus srcOffset into the writable fw_cfg file
     * destFile at destOffset (how QEMU learns where a blob landed; the pc machine uses it only for
     * devices jvmm does not have, such as vmgenid). destFile is not a blob of this loader.
     */
    public void writePointer(String destFile, int destOffset, int size, String srcFile, int srcOffset) {
        byte[] src = blob(srcFile);
        if (size != 1 && size != 2 && size != 4 && size != 8) {
            throw new IllegalArgumentException("pointer size must be 1, 2, 4 or 8: " + size);
        }
        if (srcOffset < 0 || srcOffset >= src.length) {
            throw new IllegalArgumentException("pointer outside its file");
        }
        ByteBuffer e = entry(COMMAND_WRITE_POINTER);
        putName(e, 4, destFile);
        putName(e, 4 + FILESZ, srcFile);
        e.putInt(4 + 2 * FILESZ, destOffset);
        e.putInt(4 + 2 * FILESZ + 4, srcOffset);
        e.put(4 + 2 * FILESZ + 8, (byte) size);
        commands.add(e.array());
    }

    /** The commands as the file's bytes: allocations first (latest first), then the others in order. */
    public byte[] commands() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        allocations.forEach(out::writeBytes);
        commands.forEach(out::writeBytes);
        return out.toByteArray();
    }

    private byte[] blob(String file) {
        byte[] b = files.get(file);
        if (b == null) {
            throw new IllegalArgumentException("file not allocated: " + file);
        }
        return b;
    }

    private static ByteBuffer entry(int command) {
        ByteBuffer e = ByteBuffer.allocate(ENTRY_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        e.putInt(0, command);
        return e;
    }

    /** strncpy into a FILESZ field, leaving at least one NUL, as QEMU does. */
    private static void putName(ByteBuffer e, int at, String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        e.put(at, n, 0, Math.min(n.length, FILESZ - 1));
    }
}
