package dev.jvmm.qmp;

import java.util.ArrayList;
import java.util.List;

import static dev.jvmm.qmp.QType.Member.opt;
import static dev.jvmm.qmp.QType.Member.req;

/**
 * The host-feature queries libvirt's probe sends, answered as QEMU 7.2 answers on a host without them: jvmm
 * has no TPM, and no SEV or SGX guest support.
 */
final class QmpHostFeatures {
    private QmpHostFeatures() {
    }

    static void declare(Schema s) {
        s.command("query-tpm-models", QmpCommands.NO_ARGS,
                QType.array(new QType.Enum("TpmModel", List.of("tpm-tis", "tpm-crb", "tpm-spapr"))),
                a -> new ArrayList<>());
        s.command("query-tpm-types", QmpCommands.NO_ARGS,
                QType.array(new QType.Enum("TpmType", List.of("passthrough", "emulator"))),
                a -> new ArrayList<>());
        s.command("query-sev-capabilities", QmpCommands.NO_ARGS, QType.struct("SevCapability",
                req("pdh", QType.STR), req("cert-chain", QType.STR), opt("cpu0-id", QType.STR),
                req("cbitpos", QType.INT), req("reduced-phys-bits", QType.INT)), a -> {
                    throw QmpError.generic("SEV is not enabled in KVM");
                });
        s.command("query-sgx-capabilities", QmpCommands.NO_ARGS, QType.struct("SGXInfo",
                req("sgx", QType.BOOL), req("sgx1", QType.BOOL), req("sgx2", QType.BOOL), req("flc", QType.BOOL),
                req("sections", QType.array(QType.struct("SGXEPCSection", req("node", QType.INT),
                        req("size", QType.INT))))), a -> {
                    throw QmpError.generic("SGX is not enabled in KVM");
                });
    }
}
