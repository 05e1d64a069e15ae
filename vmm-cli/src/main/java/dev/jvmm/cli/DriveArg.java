package dev.jvmm.cli;

/**
 * One drive from the command line: how errors name it (the option as the user wrote it) and its -drive text.
 *
 * @param option "-drive TEXT", or "-hda FILE" etc. for the shorthands (QEMU reports their errors so)
 * @param text   the -drive option text the block layer parses
 */
record DriveArg(String option, String text) {
    /**
     * QEMU's drive_add for -hda..-hdd (index 0..3, media=disk) and -cdrom (index 2, media=cdrom) on the
     * machine's default interface (ide on pc). The file name is taken literally, so its commas are doubled.
     */
    static DriveArg shorthand(String name, String file, int index, String media) {
        return new DriveArg(name + " " + file, "index=" + index + ",media=" + media + ",file="
                + file.replace(",", ",,"));
    }
}
