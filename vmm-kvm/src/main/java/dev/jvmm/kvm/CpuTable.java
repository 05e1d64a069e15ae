package dev.jvmm.kvm;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * QEMU 7.2's x86 CPU vocabulary, read from the resource cpu-models.txt: the feature words with their bit
 * names, the spellings QEMU also accepts, and the named models in -cpu help order. This one declaration
 * drives -cpu parsing, CPUID building, the "host doesn't support" warnings and -cpu help.
 */
public final class CpuTable {
    /** A feature name's bit: word index and bit number. */
    public record Bit(int word, int bit) { }

    private record HelpLine(String name, String description) { }

    private final List<FeatureWord> words;
    private final Map<String, List<Bit>> bits;
    private final Map<String, String> aliases;
    private final Map<String, CpuDefinition> models;
    private final Map<String, String> modelAliases;
    private final List<HelpLine> help;

    private CpuTable(List<FeatureWord> words, Map<String, List<Bit>> bits, Map<String, String> aliases,
                     Map<String, CpuDefinition> models, Map<String, String> modelAliases, List<HelpLine> help) {
        this.words = List.copyOf(words);
        this.bits = Map.copyOf(bits);
        this.aliases = Collections.unmodifiableMap(aliases);
        this.models = Collections.unmodifiableMap(models);
        this.modelAliases = Map.copyOf(modelAliases);
        this.help = List.copyOf(help);
    }

    /** Reads the table shipped with vmm-kvm. */
    public static CpuTable load() {
        try (InputStream in = CpuTable.class.getResourceAsStream("cpu-models.txt")) {
            if (in == null) {
                throw new IllegalStateException("cpu-models.txt missing from the classpath");
            }
            return parse(new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).lines().toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static CpuTable parse(List<String> lines) {
        List<FeatureWord> words = new ArrayList<>();
        Map<String, List<Bit>> bits = new HashMap<>();
        Map<String, String> aliases = new LinkedHashMap<>();
        Map<String, CpuDefinition> models = new LinkedHashMap<>();
        Map<String, String> modelAliases = new HashMap<>();
        List<HelpLine> help = new ArrayList<>();
        Map<String, String> attrs = null;
        String model = null;
        for (String raw : lines) {
            if (raw.startsWith("#") || raw.isBlank()) {
                continue;
            }
            if (raw.startsWith("  ")) {
                String line = raw.substring(2);
                int sp = line.indexOf(' ');
                String key = sp < 0 ? line : line.substring(0, sp);
                String value = sp < 0 ? "" : line.substring(sp + 1);
                if (key.equals("family")) {
                    String[] kv = line.split(" ");
                    for (int i = 0; i + 1 < kv.length; i += 2) {
                        attrs.put(kv[i], kv[i + 1]);
                    }
                } else {
                    attrs.put(key, value);
                }
                continue;
            }
            if (model != null) {
                addModel(models, help, model, attrs, words, bits);
                model = null;
            }
            String[] p = raw.split(" ");
            switch (p[0]) {
                case "word" -> words.add(word(p, words.size(), bits));
                case "alias" -> aliases.put(p[1], p[2]);
                case "model" -> {
                    model = p[1];
                    attrs = new HashMap<>();
                }
                case "same", "versioned" -> {
                    modelAliases.put(p[1], p[2]);
                    help.add(new HelpLine(p[1], p[0].equals("same") ? "(alias of " + p[2] + ")"
                            : "(alias configured by machine type)"));
                }
                default -> throw new IllegalStateException("cpu-models.txt: bad line: " + raw);
            }
        }
        if (model != null) {
            addModel(models, help, model, attrs, words, bits);
        }
        return new CpuTable(words, bits, aliases, models, modelAliases, help);
    }

    private static FeatureWord word(String[] p, int index, Map<String, List<Bit>> bits) {
        boolean msr = p[2].equals("msr");
        int leaf = Integer.parseUnsignedInt(p[3].substring(2), 16);
        int subleaf = msr || p[4].equals("-") ? -1 : Integer.parseInt(p[4]);
        CpuidReg reg = msr ? null : CpuidReg.valueOf(p[5]);
        List<String> names = new ArrayList<>(Collections.nCopies(64, null));
        int bit = 0;
        for (int i = msr ? 4 : 6; i < p.length; i++, bit++) {
            String n = p[i];
            int colon = n.indexOf(':');
            if (colon > 0) {
                bit = Integer.parseInt(n.substring(0, colon));
                n = n.substring(colon + 1);
            }
            if (!n.equals("-")) {
                names.set(bit, n);
                bits.computeIfAbsent(n, k -> new ArrayList<>()).add(new Bit(index, bit));
            }
        }
        return new FeatureWord(p[1], index, msr, leaf, subleaf, reg, Collections.unmodifiableList(names));
    }

    private static void addModel(Map<String, CpuDefinition> models, List<HelpLine> help, String name,
                                 Map<String, String> a, List<FeatureWord> words, Map<String, List<Bit>> bits) {
        long[] features = null;
        if (a.containsKey("features")) {
            features = new long[words.size()];
            for (String f : a.get("features").split(" ")) {
                if (!f.isEmpty()) {
                    for (Bit b : bits.get(f)) {
                        features[b.word()] |= 1L << b.bit();
                    }
                }
            }
        }
        models.put(name, new CpuDefinition(name, num(a, "family"), num(a, "model"), num(a, "stepping"),
                num(a, "level"), num(a, "xlevel"), num(a, "xlevel2"), a.getOrDefault("id", ""),
                a.getOrDefault("help", ""), features, !"off".equals(a.get("legacy-cache"))));
        help.add(new HelpLine(name, a.getOrDefault("help", "")));
    }

    private static int num(Map<String, String> a, String key) {
        String v = a.get(key);
        if (v == null) {
            return 0;
        }
        return v.startsWith("0x") ? Integer.parseUnsignedInt(v.substring(2), 16) : Integer.parseInt(v);
    }

    public List<FeatureWord> words() {
        return words;
    }

    public FeatureWord word(String name) {
        return words.stream().filter(w -> w.name().equals(name)).findFirst().orElseThrow();
    }

    /**
     * The bits a feature name stands for (QEMU's spelling after its '_' to '-' rewrite, or one of its
     * aliases such as sse3 or i64), or null for a name that is no feature.
     */
    public List<Bit> feature(String name) {
        String n = name.replace('_', '-');
        n = aliases.getOrDefault(n, n);
        return bits.get(n);
    }

    /** The model a -cpu name selects, following aliases, or null. */
    public CpuDefinition model(String name) {
        return models.get(modelAliases.getOrDefault(name, name));
    }

    /** The model an unversioned or legacy name stands for ("qemu64" is "qemu64-v1"), or null. */
    public String aliasOf(String name) {
        return modelAliases.get(name);
    }

    /** Every feature bit name once, in word and bit order (the bool properties of x86_64-cpu). */
    public List<String> featureNames() {
        Set<String> names = new LinkedHashSet<>();
        for (FeatureWord w : words) {
            w.bitNames().stream().filter(n -> n != null).forEach(names::add);
        }
        return List.copyOf(names);
    }

    /** The other spellings of feature names, in file order (bool properties of every CPU object). */
    public List<String> aliasNames() {
        return List.copyOf(aliases.keySet());
    }

    /** Every name -cpu accepts, models and their aliases, in -cpu help order (one QOM type each). */
    public List<String> modelNames() {
        return help.stream().map(HelpLine::name).toList();
    }

    /** Every bit name QEMU lists under "Recognized CPUID flags", sorted (a name on two bits comes twice). */
    public List<String> flagNames() {
        List<String> names = new ArrayList<>();
        for (FeatureWord w : words) {
            w.bitNames().stream().filter(n -> n != null).forEach(names::add);
        }
        Collections.sort(names);
        return names;
    }

    /** The text of -cpu help, as QEMU 7.2 prints it. */
    public String helpText() {
        StringBuilder sb = new StringBuilder("Available CPUs:\n");
        for (HelpLine h : help) {
            sb.append(String.format("x86 %-20s  %s", h.name(), h.description())).append('\n');
        }
        sb.append("\nRecognized CPUID flags:\n");
        StringBuilder line = new StringBuilder();
        for (String f : flagNames()) {
            if (line.length() > 0 && line.length() + 1 + f.length() > 75) {
                sb.append(line).append('\n');
                line.setLength(0);
            }
            line.append(line.length() == 0 ? "  " : " ").append(f);
        }
        sb.append(line).append("\n\n");
        return sb.toString();
    }

    @Override
    public String toString() {
        return "CpuTable" + Arrays.asList(words.size(), models.size());
    }
}
