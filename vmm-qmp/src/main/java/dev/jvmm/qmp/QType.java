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

    /** A struct; members are checked in order, unknown members are refused. */
    record Struct(String name, List<Member> members) implements QType {
    }

    record Member(String name, QType type, boolean optional) {
        public static Member req(String name, QType type) {
            return new Member(name, type, false);
        }

        public static Member opt(String name, QType type) {
            return new Member(name, type, true);
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

    static Array array(QType element) {
        return new Array(element);
    }
}
