package dev.jvmm.kvm.boot;

import java.util.ArrayList;
import java.util.List;

/**
 * Multiboot Specification 0.6.96 section 3.3, "mods": one boot module, with the string the kernel sees for it.
 * As in QEMU, -initrd names the modules of a multiboot kernel: "file [args],file [args]", with ",," for a comma
 * inside one; the module string is the whole "file [args]" text.
 *
 * @param string the module's string as the kernel sees it ("file args")
 * @param data   the file's bytes
 */
public record MultibootModule(String string, byte[] data) {
    /** The module texts of an -initrd value, in order. */
    static List<String> split(String initrd) {
        List<String> texts = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < initrd.length(); i++) {
            char c = initrd.charAt(i);
            if (c == ',' && i + 1 < initrd.length() && initrd.charAt(i + 1) == ',') {
                cur.append(',');
                i++;
            } else if (c == ',') {
                texts.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        texts.add(cur.toString());
        return texts;
    }

    /** The file a module text names: everything before its first space. */
    static String fileOf(String text) {
        int sp = text.indexOf(' ');
        return sp < 0 ? text : text.substring(0, sp);
    }
}
