package dev.jvmm.qmp;

import dev.jvmm.core.machine.MachineCommandException;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The one declaration of every command and event, as QAPI's schema is for QEMU: dispatch, argument
 * checking, query-commands and query-qmp-schema all read it, so introspection cannot disagree with
 * behaviour.
 */
public final class Schema {
    /** The arguments of every command without any, and the return type of every command answering {}. */
    public static final QType.Struct EMPTY = QType.struct("q_empty");

    /**
     * Runs a command with checked arguments; returns the "return" value. A machine's refusal
     * ({@link MachineCommandException}) becomes the error reply with its class and text.
     */
    @FunctionalInterface
    public interface Handler {
        Object run(Map<String, Object> args, QmpSession session) throws QmpError, MachineCommandException;
    }

    /** A command that needs only its arguments, not the session. */
    @FunctionalInterface
    public interface Query {
        Object run(Map<String, Object> args) throws QmpError, MachineCommandException;
    }

    /** A command that returns {}. */
    @FunctionalInterface
    public interface Action {
        void run(Map<String, Object> args) throws QmpError, MachineCommandException;
    }

    /**
     * A command. {@code ret} is the declared return type; {@code allowOob} as QAPI's allow-oob;
     * {@code onLoop} runs the handler on the I/O loop rather than the machine's main loop (session-only
     * commands such as qmp_capabilities).
     */
    public record Command(String name, QType.Struct args, QType ret, boolean allowOob, boolean onLoop,
            Handler handler) {
        /** Checks the arguments and runs the handler; every failure is the QmpError the reply carries. */
        public Object invoke(Map<String, Object> args, QmpSession session) throws QmpError {
            check(this.args, args);
            try {
                return handler.run(args, session);
            } catch (MachineCommandException e) {
                throw new QmpError(e.errorClass(), e.getMessage());
            }
        }
    }

    public record Event(String name, QType.Struct data) {
    }

    private final Map<String, Command> commands = new LinkedHashMap<>();
    private final Map<String, Event> events = new LinkedHashMap<>();

    public Schema command(String name, QType.Struct args, QType ret, Handler h) {
        commands.put(name, new Command(name, args, ret, false, false, h));
        return this;
    }

    public Schema command(String name, QType.Struct args, QType ret, Query q) {
        return command(name, args, ret, (a, session) -> q.run(a));
    }

    /** A command answering {} once the action ran. */
    public Schema action(String name, QType.Struct args, Action action) {
        return command(name, args, EMPTY, (a, session) -> {
            action.run(a);
            return new LinkedHashMap<String, Object>();
        });
    }

    public Schema command(Command c) {
        commands.put(c.name(), c);
        return this;
    }

    public Schema event(String name, QType.Struct data) {
        events.put(name, new Event(name, data));
        return this;
    }

    public Command lookup(String name) {
        return commands.get(name);
    }

    public Iterable<Command> commands() {
        return commands.values();
    }

    public Iterable<Event> events() {
        return events.values();
    }

    public Event event(String name) {
        return events.get(name);
    }

    // ---- argument checking, with QEMU's texts ----

    /** Checks a command's arguments; throws a GenericError naming the offending parameter. */
    public static void check(QType.Struct type, Map<String, Object> args) throws QmpError {
        checkStruct(type, args, "");
    }

    private static void checkStruct(QType.Struct type, Map<String, Object> obj, String prefix) throws QmpError {
        // QEMU's input visitor: declared members in order (missing, wrong type), then leftovers (unexpected).
        for (QType.Member m : type.members()) {
            Object v = obj.get(m.name());
            if (v == null) {
                if (!m.optional()) {
                    throw QmpError.generic("Parameter '" + prefix + m.name() + "' is missing");
                }
                continue;
            }
            checkValue(m.type(), v, prefix + m.name());
        }
        QType.Struct variant = type.tag() != null ? type.variant((String) obj.get(type.tag())) : null;
        if (variant != null) {
            for (QType.Member m : variant.members()) {
                Object v = obj.get(m.name());
                if (v == null) {
                    if (!m.optional()) {
                        throw QmpError.generic("Parameter '" + prefix + m.name() + "' is missing");
                    }
                    continue;
                }
                checkValue(m.type(), v, prefix + m.name());
            }
        }
        for (String key : obj.keySet()) {
            if (!type.open() && type.members().stream().noneMatch(m -> m.name().equals(key))
                    && (variant == null || variant.members().stream().noneMatch(m -> m.name().equals(key)))) {
                throw QmpError.generic("Parameter '" + prefix + key + "' is unexpected");
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static void checkValue(QType t, Object v, String path) throws QmpError {
        if (t instanceof QType.Builtin b) {
            boolean ok = switch (b.name()) {
                case "str" -> v instanceof String;
                case "int" -> v instanceof Long || v instanceof BigInteger;
                case "bool" -> v instanceof Boolean;
                case "number" -> v instanceof Number;
                case "null" -> v == Json.NULL;
                default -> true;
            };
            if (!ok) {
                throw typeError(path, switch (b.name()) {
                    case "str" -> "string";
                    case "int" -> "integer";
                    case "bool" -> "boolean";
                    default -> b.name();
                });
            }
        } else if (t instanceof QType.Enum e) {
            if (!(v instanceof String s)) {
                throw typeError(path, "string");
            }
            if (!e.values().contains(s)) {
                // QEMU's visit_type_enum names the member alone, not its full path
                String leaf = path.substring(path.lastIndexOf('.') + 1);
                throw QmpError.generic("Parameter '" + leaf + "' does not accept value '" + s + "'");
            }
        } else if (t instanceof QType.Array a) {
            if (!(v instanceof List<?> l)) {
                throw typeError(path, "array");
            }
            for (int i = 0; i < l.size(); i++) {
                checkValue(a.element(), l.get(i), path + "[" + i + "]");
            }
        } else if (t instanceof QType.Struct s) {
            if (!(v instanceof Map<?, ?> m)) {
                throw typeError(path, "object");
            }
            checkStruct(s, (Map<String, Object>) m, path + ".");
        }
    }

    private static QmpError typeError(String path, String expected) {
        return QmpError.generic("Invalid parameter type for '" + path + "', expected: " + expected);
    }

    // ---- return checking: what a handler answers against the declared return type ----

    /**
     * Where a return value departs from its declared type, one line per departure naming the member path; empty
     * when it conforms. QEMU's output visitor writes only declared members, leaves an absent optional member
     * out (never null), and writes enum values from the enum's list.
     */
    public static List<String> returnMismatches(QType type, Object value) {
        List<String> out = new ArrayList<>();
        checkReturn(type, value, "return", out);
        return out;
    }

    @SuppressWarnings("unchecked")
    private static void checkReturn(QType t, Object v, String path, List<String> out) {
        if (v == null) {
            out.add(path + ": null instead of " + describe(t));
        } else if (t instanceof QType.Builtin b) {
            boolean ok = switch (b.name()) {
                case "str" -> v instanceof String;
                case "int" -> v instanceof Long || v instanceof Integer || v instanceof BigInteger;
                case "bool" -> v instanceof Boolean;
                case "number" -> v instanceof Number;
                case "null" -> v == Json.NULL;
                default -> isJson(v);
            };
            if (!ok) {
                out.add(path + ": " + v.getClass().getSimpleName() + " " + v + " instead of " + b.name());
            }
        } else if (t instanceof QType.Enum e) {
            if (!(v instanceof String str) || !e.values().contains(str)) {
                out.add(path + ": " + v + " is not a value of enum " + e.name());
            }
        } else if (t instanceof QType.Array a) {
            if (!(v instanceof List<?> l)) {
                out.add(path + ": " + v.getClass().getSimpleName() + " instead of an array");
                return;
            }
            for (int i = 0; i < l.size(); i++) {
                checkReturn(a.element(), l.get(i), path + "[" + i + "]", out);
            }
        } else if (t instanceof QType.Struct st) {
            if (!(v instanceof Map<?, ?> m)) {
                out.add(path + ": " + v.getClass().getSimpleName() + " instead of object " + st.name());
                return;
            }
            Map<String, Object> obj = (Map<String, Object>) m;
            for (QType.Member mem : st.members()) {
                if (!obj.containsKey(mem.name())) {
                    if (!mem.optional()) {
                        out.add(path + "." + mem.name() + ": missing from " + st.name());
                    }
                    continue;
                }
                checkReturn(mem.type(), obj.get(mem.name()), path + "." + mem.name(), out);
            }
            for (String key : obj.keySet()) {
                if (st.members().stream().noneMatch(mem -> mem.name().equals(key))) {
                    out.add(path + "." + key + ": not a member of " + st.name());
                }
            }
        }
    }

    private static String describe(QType t) {
        if (t instanceof QType.Builtin b) {
            return b.name();
        }
        if (t instanceof QType.Enum e) {
            return "enum " + e.name();
        }
        if (t instanceof QType.Struct st) {
            return "object " + st.name();
        }
        return "an array";
    }

    /** Whether {@link Json#write} can write v (what "any" may hold). */
    private static boolean isJson(Object v) {
        if (v == Json.NULL || v instanceof String || v instanceof Boolean || v instanceof Integer
                || v instanceof Long || v instanceof BigInteger || v instanceof Double) {
            return true;
        }
        if (v instanceof Map<?, ?> m) {
            return m.keySet().stream().allMatch(k -> k instanceof String)
                    && m.values().stream().allMatch(x -> x != null && isJson(x));
        }
        return v instanceof List<?> l && l.stream().allMatch(x -> x != null && isJson(x));
    }

    // ---- introspection ----

    /** query-commands: [{"name": ...}] for every command. */
    public List<Object> queryCommands() {
        List<Object> out = new ArrayList<>();
        for (Command c : commands.values()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", c.name());
            out.add(m);
        }
        return out;
    }

    /**
     * query-qmp-schema: SchemaInfo for every command, event and the types they use. Like QEMU, types other
     * than builtins get opaque numeric names, so clients cannot depend on internal type names.
     */
    public List<Object> queryQmpSchema() {
        Introspector in = new Introspector();
        List<Object> out = new ArrayList<>();
        for (Command c : commands.values()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", c.name());
            m.put("meta-type", "command");
            m.put("arg-type", in.name(c.args()));
            m.put("ret-type", in.name(c.ret()));
            if (c.allowOob()) {
                m.put("allow-oob", true);
            }
            out.add(m);
        }
        for (Event e : events.values()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", e.name());
            m.put("meta-type", "event");
            m.put("arg-type", in.name(e.data()));
            out.add(m);
        }
        out.addAll(in.types);
        return out;
    }

    private static final class Introspector {
        private final Map<Object, String> names = new HashMap<>();
        private final List<Object> types = new ArrayList<>();

        String name(QType t) {
            String known = names.get(key(t));
            if (known != null) {
                return known;
            }
            Map<String, Object> info = new LinkedHashMap<>();
            String name;
            if (t instanceof QType.Builtin b) {
                name = b.name();
                names.put(key(t), name);
                info.put("name", name);
                info.put("meta-type", "builtin");
                info.put("json-type", b.jsonType());
            } else if (t instanceof QType.Array a) {
                String el = name(a.element());
                name = "[" + el + "]";
                names.put(key(t), name);
                info.put("name", name);
                info.put("meta-type", "array");
                info.put("element-type", el);
            } else if (t instanceof QType.Enum e) {
                name = String.valueOf(names.size());
                names.put(key(t), name);
                info.put("name", name);
                info.put("meta-type", "enum");
                List<Object> members = new ArrayList<>();
                for (String v : e.values()) {
                    Map<String, Object> mm = new LinkedHashMap<>();
                    mm.put("name", v);
                    members.add(mm);
                }
                info.put("members", members);
                info.put("values", new ArrayList<Object>(e.values()));
            } else {
                QType.Struct s = (QType.Struct) t;
                name = String.valueOf(names.size());
                names.put(key(t), name);
                info.put("name", name);
                info.put("meta-type", "object");
                List<Object> members = new ArrayList<>();
                for (QType.Member m : s.members()) {
                    Map<String, Object> mm = new LinkedHashMap<>();
                    mm.put("name", m.name());
                    mm.put("type", name(m.type()));
                    if (m.optional()) {
                        mm.put("default", Json.NULL);
                    }
                    if (!m.features().isEmpty()) {
                        mm.put("features", new ArrayList<Object>(m.features()));
                    }
                    members.add(mm);
                }
                info.put("members", members);
                if (s.tag() != null) {
                    info.put("tag", s.tag());
                    List<Object> variants = new ArrayList<>();
                    for (QType.Variant v : s.variants()) {
                        Map<String, Object> vm = new LinkedHashMap<>();
                        vm.put("case", v.name());
                        vm.put("type", name(v.type()));
                        variants.add(vm);
                    }
                    info.put("variants", variants);
                }
            }
            types.add(info);
            return name;
        }

        private static Object key(QType t) {
            return t instanceof QType.Struct s ? s.name() : t;
        }
    }
}
