package dev.jvmm.core.qom;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The composition tree qom-list, qom-get and qom-set walk: the root container with /machine, /objects and
 * /chardevs below it. Absolute paths follow children and links; a partial path names the one object whose
 * path ends with it (QEMU's object_resolve_path semantics: an ambiguous partial path resolves to nothing).
 */
public final class QomTree {
    private final QomNode root = new QomNode("", "container", null);

    public QomNode root() {
        return root;
    }

    /** The node at a path, or empty when there is none (or a partial path is ambiguous). */
    public Optional<QomNode> resolve(String path) {
        if (path == null || path.isEmpty()) {
            return Optional.empty();
        }
        String[] parts = path.split("/");
        if (path.startsWith("/")) {
            QomNode n = root;
            for (String part : parts) {
                if (part.isEmpty()) {
                    continue;
                }
                Optional<QomNode> next = step(n, part);
                if (next.isEmpty()) {
                    return Optional.empty();
                }
                n = next.get();
            }
            return Optional.of(n);
        }
        List<QomNode> found = new ArrayList<>();
        partial(root, parts, found);
        return found.size() == 1 ? Optional.of(found.get(0)) : Optional.empty();
    }

    private Optional<QomNode> step(QomNode n, String part) {
        Optional<QomNode> c = n.child(part);
        if (c.isPresent()) {
            return c;
        }
        try {
            Optional<String> target = n.linkTarget(part);
            return target.isPresent() && target.get().startsWith("/") ? resolve(target.get()) : Optional.empty();
        } catch (PropertyException e) {
            return Optional.empty();
        }
    }

    /** Every node (children only, as QEMU's partial search) whose path ends with the given components. */
    private void partial(QomNode n, String[] parts, List<QomNode> found) {
        if (endsWith(n, parts) && !found.contains(n)) {
            found.add(n);
        }
        for (QomNode c : n.children()) {
            partial(c, parts, found);
        }
    }

    private static boolean endsWith(QomNode n, String[] parts) {
        QomNode cur = n;
        for (int i = parts.length - 1; i >= 0; i--) {
            if (parts[i].isEmpty()) {
                continue;
            }
            if (cur == null || !cur.name().equals(parts[i])) {
                return false;
            }
            cur = cur.parent().orElse(null);
        }
        return true;
    }
}
