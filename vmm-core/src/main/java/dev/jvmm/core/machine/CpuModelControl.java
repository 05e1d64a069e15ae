package dev.jvmm.core.machine;

import java.util.List;
import java.util.Map;

/**
 * The CPU models as query-cpu-definitions and query-cpu-model-expansion describe them: every -cpu name, what
 * this host's KVM cannot give each, and a model with settings expanded to its properties.
 */
public interface CpuModelControl {
    /**
     * One -cpu name (QEMU 7.2's CpuDefinitionInfo).
     *
     * @param unavailableFeatures the features the model asks for and KVM cannot give here
     * @param aliasOf the versioned model an unversioned or legacy name stands for; null for none
     */
    record Definition(String name, String typeName, List<String> unavailableFeatures, boolean isStatic,
            boolean migrationSafe, boolean deprecated, String aliasOf) {
    }

    /** A model and its properties: "base" and the static set, or the name given and every property. */
    record Expansion(String name, Map<String, Object> props) {
    }

    /** Every model -cpu accepts, in -cpu help order. */
    List<Definition> definitions();

    /**
     * The model with the settings applied, as a CPU of that type would hold them: full lists every property
     * of the object, static the features and identity over "base". Errors carry QEMU's texts.
     */
    Expansion expand(boolean full, String model, Map<String, Object> props) throws MachineCommandException;

    /** A machine without CPU models: none to list, none to expand. */
    CpuModelControl NONE = new CpuModelControl() {
        @Override
        public List<Definition> definitions() {
            return List.of();
        }

        @Override
        public Expansion expand(boolean full, String model, Map<String, Object> props)
                throws MachineCommandException {
            throw MachineCommandException.generic("CPU model '" + model + "' not found");
        }
    };
}
