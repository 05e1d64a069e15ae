package dev.jvmm.devices.smbios;

import dev.jvmm.core.config.OptionException;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * What the {@code -smbios} options asked for (DMTF SMBIOS 3.x, section 7: the structures whose fields they
 * set), accumulated over all of them in command-line order as QEMU 7.2's smbios_entry_add does.
 *
 * @param strings      string fields by structure type and option name (types 0, 1, 2, 3, 4 and 17);
 *                     a later option overrides only the names it gives
 * @param fieldTypes   the types named by {@code type=} (QEMU's have_fields bitmap): these structures are built
 *                     even where QEMU would leave them out (types 0 and 2)
 * @param binaryTypes  the types loaded from {@code file=} blobs (QEMU's have_binfile bitmap): QEMU builds none
 *                     of these itself
 * @param release      type 0 {@code release=major.minor}, empty when not given
 * @param uefi         type 0 {@code uefi=}, from the last type=0 option
 * @param processorId  type 4 {@code processor-id=}; 0 means the vCPU's CPUID signature and feature word
 * @param maxSpeed     type 4 {@code max-speed=} in MHz
 * @param currentSpeed type 4 {@code current-speed=} in MHz
 * @param memorySpeed  type 17 {@code speed=} in MT/s, already cut to 16 bits as QEMU stores it
 * @param ports        type 8 structures, one per {@code -smbios type=8}
 * @param onboardDevices type 41 structures, one per {@code -smbios type=41}
 * @param oemStrings   type 11 strings in order ({@code value=} text, {@code path=} file contents)
 * @param files        the {@code file=} blobs in order; QEMU puts them first in the table
 * @param uuid         the type 1 {@code uuid=}, when one was given
 * @param uuidOption   the 0-based index of the -smbios option that set uuid (-1 without): QEMU keeps the UUID
 *                     of whichever comes last on the command line, this or {@code -uuid}
 */
public record SmbiosOptions(Map<Integer, Map<String, String>> strings, Set<Integer> fieldTypes,
                            Set<Integer> binaryTypes, Optional<Release> release, boolean uefi, long processorId,
                            int maxSpeed, int currentSpeed, int memorySpeed, List<Port> ports,
                            List<OnboardDevice> onboardDevices, List<byte[]> oemStrings, List<RawStructure> files,
                            Optional<UUID> uuid, int uuidOption) {
    /** Highest structure type the options may name (QEMU's SMBIOS_MAX_TYPE). */
    public static final int MAX_TYPE = 127;
    /** Type 4 speeds when not given: SVVP requires non-zero ("unknown") speeds, and QEMU has used 2000 MHz. */
    public static final int DEFAULT_CPU_SPEED = 2000;

    /** No -smbios option at all. */
    public static final SmbiosOptions NONE = new SmbiosOptions(Map.of(), Set.of(), Set.of(), Optional.empty(),
            false, 0, DEFAULT_CPU_SPEED, DEFAULT_CPU_SPEED, 0, List.of(), List.of(), List.of(), List.of(),
            Optional.empty(), -1);

    public SmbiosOptions {
        strings = Map.copyOf(strings);
        fieldTypes = Set.copyOf(fieldTypes);
        binaryTypes = Set.copyOf(binaryTypes);
        ports = List.copyOf(ports);
        onboardDevices = List.copyOf(onboardDevices);
        oemStrings = List.copyOf(oemStrings);
        files = List.copyOf(files);
    }

    /** BIOS major and minor release (type 0 offsets 0x14 and 0x15), each one byte. */
    public record Release(int major, int minor) {
    }

    /** One type 8 port connector: reference designators and the connector and port type codes. */
    public record Port(String internalReference, String externalReference, int connectorType, int portType) {
    }

    /**
     * One type 41 onboard device: its designation, the device type byte (kind number with the "enabled" bit),
     * the type instance (one byte) and the -device id of its PCI device, if named.
     */
    public record OnboardDevice(String designation, int deviceType, int instance, String pcidev) {
    }

    /**
     * One {@code file=} blob as read: QEMU 7.2 checks only that it holds a whole header and passes the bytes
     * through unchanged, one count in the entry point however many structures it holds.
     */
    public record RawStructure(String path, byte[] bytes) {
        /** The structure type in the blob's first byte. */
        public int type() {
            return bytes[SmbiosStructure.HEADER_TYPE] & 0xff;
        }
    }

    /** The string option name of type's field, or null when not given. */
    public String string(int type, String name) {
        return strings.getOrDefault(type, Map.of()).get(name);
    }

    /**
     * Parses the -smbios arguments in command-line order; an error is an {@link OptionException} for
     * "-smbios TEXT" with QEMU 7.2's message. Files named by file= and path= are read here, as QEMU does.
     */
    public static SmbiosOptions parse(List<String> texts) {
        SmbiosOptionParser parser = new SmbiosOptionParser();
        for (int i = 0; i < texts.size(); i++) {
            parser.add(i, texts.get(i));
        }
        return parser.result();
    }

    /**
     * A UUID as QEMU's qemu_uuid_parse reads it: exactly 36 characters, hex digits (either case) with dashes
     * at 8, 13, 18 and 23; anything else is empty.
     */
    public static Optional<UUID> parseUuid(String text) {
        if (text == null || text.length() != 36) {
            return Optional.empty();
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean dash = i == 8 || i == 13 || i == 18 || i == 23;
            if (dash ? c != '-' : Character.digit(c, 16) < 0 || c > 'f') {
                return Optional.empty();
            }
        }
        return Optional.of(UUID.fromString(text));
    }
}
