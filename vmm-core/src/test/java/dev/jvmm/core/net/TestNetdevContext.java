package dev.jvmm.core.net;

import dev.jvmm.core.event.EventBus;

/** A context for backend tests: no events; fd= takes inherited numbers only. */
public final class TestNetdevContext implements NetdevContext {
    @Override
    public EventBus events() {
        return null;
    }

    @Override
    public int fd(String nameOrNumber) throws NetdevException {
        try {
            return Integer.parseInt(nameOrNumber);
        } catch (NumberFormatException e) {
            throw new NetdevException("No file descriptor named " + nameOrNumber + " found");
        }
    }
}
