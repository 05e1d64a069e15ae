package dev.jvmm.qmp;

import dev.jvmm.core.machine.QemuVersion;

import java.nio.charset.StandardCharsets;

/**
 * The greeting a QMP server sends each new client (QEMU's qmp_greeting: the version, then the capabilities a
 * client may enable), written out as text so that the early listener sends it without loading a JSON
 * library; its spacing is QEMU's, as {@link Json#encodeMessage} writes every other message.
 */
final class QmpGreeting {
    private QmpGreeting() {
    }

    static byte[] bytes(QemuVersion v) {
        String text = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": " + v.micro() + ", \"minor\": " + v.minor()
                + ", \"major\": " + v.major() + "}, \"package\": " + quoted(v.pkg())
                + "}, \"capabilities\": [\"oob\"]}}\r\n";
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** A JSON string literal: quote, backslash and control characters escaped as JSON requires. */
    private static String quoted(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04X", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
