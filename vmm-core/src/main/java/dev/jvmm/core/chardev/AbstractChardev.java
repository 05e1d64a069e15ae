package dev.jvmm.core.chardev;

/**
 * Receiver bookkeeping shared by the backends: holds the frontend, installs the input-ready hook on
 * flow-controlled frontends, and routes the hook to {@link #inputReady()}.
 */
public abstract class AbstractChardev implements Chardev {
    private final String id;
    private volatile Receiver receiver;

    protected AbstractChardev(String id) {
        this.id = id;
    }

    @Override
    public final String id() {
        return id;
    }

    @Override
    public void setReceiver(Receiver r) {
        receiver = r;
        if (r instanceof FlowControlledReceiver f) {
            f.setInputReadyHook(this::inputReady);
        }
        inputReady();
    }

    protected final Receiver receiver() {
        return receiver;
    }

    /** The frontend has room again (or a frontend was attached); backends resume reading. */
    protected void inputReady() {
    }
}
