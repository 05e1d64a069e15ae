package dev.jvmm.qmp;

import java.util.List;

/** A QAPI type: what an argument, a return value or event data may hold. */
public sealed interface QType {
    /** QAPI builtins: str, int, bool, number, any, null. */
    record Builtin(String name, String jsonType) implements QType {
    }

    record Enum(String name, List<String> values) implements QType {
    }

    record Array(QType element) implements QType {
    }

    /**
     * A struct; members are checked in order, unknown members are refused. A flat union (QEMU's Netdev,
     * SocketAddress) is a struct whose enum member tag picks the variant whose members follow the base's. An
     * open struct (QAPI's 'gen': false commands, such as device_add) takes members beyond the declared ones.
     */
    record Struct(String name, List<Member> members, String tag, List<Variant> variants, boolean open)
            implements QType {
        public Struct(String name, List<Member> members) {
            this(name, members, null, List.of(), false);
        }

        /** The variant for a tag value; null when there is none. */
        public Struct variant(String value) {
            for (Variant v : variants) {
                if (v.name().equals(value)) {
                    return v.type();
                }
            }
            return null;
        }
    }

    /** One case of a flat union: the tag's value and the members it adds. */
    record Variant(String name, Struct type) {
    }

    /** A member; features as QAPI's (e.g. "unstable"), shown by query-qmp-schema. */
    record Member(String name, QType type, boolean optional, List<String> features) {
        public Member(String name, QType type, boolean optional) {
            this(name, type, optional, List.of());
        }

        public static Member req(String name, QType type) {
            return new Member(name, type, false);
        }

        public static Member opt(String name, QType type) {
            return new Member(name, type, true);
        }

        public Member withFeatures(String... f) {
            return new Member(name, type, optional, List.of(f));
        }
    }

    QType STR = new Builtin("str", "string");
    QType INT = new Builtin("int", "int");
    QType BOOL = new Builtin("bool", "boolean");
    QType NUMBER = new Builtin("number", "number");
    QType ANY = new Builtin("any", "value");
    QType NULL = new Builtin("null", "null");

    static Struct struct(String name, Member... members) {
        return new Struct(name, List.of(members));
    }

    /** A flat union: base members (the tag among them), then per tag value the variant's members. */
    static Struct union(String name, List<Member> base, String tag, List<Variant> variants) {
        return new Struct(name, base, tag, variants, false);
    }

    /** A struct whose declared members are checked and whose other members pass through unchecked. */
    static Struct openStruct(String name, Member... members) {
        return new Struct(name, List.of(members), null, List.of(), true);
    }

    static Array array(QType element) {
        return new Array(element);
    }
}
