package dev.jvmm.kvm;

import java.util.ArrayList;
import java.util.List;

/**
 * A -cpu value split as QEMU 7.2 splits it: the model name, then "name=value" settings in order (a bare
 * name means name=on, '_' reads as '-'), and the legacy "+feat"/"-feat" edits, which QEMU applies after all
 * settings, the removals last.
 */
public record CpuOptions(String model, List<String[]> settings, List<String> plus, List<String> minus) {
    public static CpuOptions parse(String spec) {
        String[] parts = spec.split(",", -1);
        List<String[]> settings = new ArrayList<>();
        List<String> plus = new ArrayList<>();
        List<String> minus = new ArrayList<>();
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i];
            if (p.isEmpty()) {
                continue;
            }
            if (p.charAt(0) == '+') {
                plus.add(p.substring(1));
            } else if (p.charAt(0) == '-') {
                minus.add(p.substring(1));
            } else {
                int eq = p.indexOf('=');
                String name = (eq < 0 ? p : p.substring(0, eq)).replace('_', '-');
                String value = eq < 0 ? "on" : p.substring(eq + 1);
                settings.add(new String[] {name.equals("tsc-freq") ? "tsc-frequency" : name, value});
            }
        }
        return new CpuOptions(parts[0], List.copyOf(settings), List.copyOf(plus), List.copyOf(minus));
    }

    /** QEMU's QOM type name for the model, which its property errors quote. */
    public String typeName() {
        return model + "-x86_64-cpu";
    }
}
