package dev.jvmm.core.qom;

import dev.jvmm.core.config.OptionException;
import dev.jvmm.core.config.QemuOpts;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** The -global settings in command-line order: each applies to every later object of its type or a subtype. */
public final class Globals {
    /** One -global driver.property=value. */
    public static final class Global {
        private final String driver;
        private final String property;
        private final String value;
        private boolean used;

        Global(String driver, String property, String value) {
            this.driver = driver;
            this.property = property;
            this.value = value;
        }

        public String driver() {
            return driver;
        }

        public String property() {
            return property;
        }

        public String value() {
            return value;
        }

        public boolean used() {
            return used;
        }

        void markUsed() {
            used = true;
        }
    }

    private final List<Global> globals = new ArrayList<>();

    /**
     * -global DRIVER.PROP=VALUE (the driver ends at the first '.', the property at the first '=') or the
     * QemuOpts form driver=,property=,value=, as QEMU's qemu_global_option reads them.
     */
    public static Globals parse(List<String> options) {
        Globals g = new Globals();
        for (String o : options) {
            int dot = o.indexOf('.');
            int eq = o.indexOf('=');
            if (dot > 0 && eq > dot + 1) {
                g.add(o.substring(0, dot), o.substring(dot + 1, eq), o.substring(eq + 1));
                continue;
            }
            QemuOpts q = QemuOpts.parse("-global " + o, o, null);
            for (String k : q.values().keySet()) {
                if (!k.equals("driver") && !k.equals("property") && !k.equals("value")) {
                    throw new OptionException("-global " + o, "Invalid parameter '" + k + "'");
                }
            }
            if (!q.has("driver") || !q.has("property") || !q.has("value")) {
                throw new OptionException("-global " + o, "options 'driver', 'property', and 'value' are required");
            }
            g.add(q.get("driver").get(), q.get("property").get(), q.get("value").get());
        }
        return g;
    }

    public void add(String driver, String property, String value) {
        globals.add(new Global(driver, property, value));
    }

    public List<Global> all() {
        return Collections.unmodifiableList(globals);
    }

    /**
     * QEMU's qdev_prop_check_globals, after the machine is built: a warning line for each unused global
     * whose type does not exist or is not a device, and for each unused one on a type that cannot be
     * plugged later (so nothing will ever use it).
     */
    public List<String> warnings(TypeRegistry registry) {
        List<String> out = new ArrayList<>();
        for (Global g : globals) {
            if (g.used()) {
                continue;
            }
            if (registry.lookup(g.driver()).isEmpty() || !registry.isA(g.driver(), "device")) {
                out.add("global " + g.driver() + "." + g.property() + " has invalid class name");
            } else if (!registry.lookup(g.driver()).get().userCreatable()) {
                out.add("global " + g.driver() + "." + g.property() + "=" + g.value() + " not used");
            }
        }
        return out;
    }
}
