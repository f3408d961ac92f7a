package dev.easel.engine.lora;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The modules of a LoRA adapter file, each a pair of low-rank factors (down [r, in(, kh, kw)], up
 * [out, r(, 1, 1)]) and an optional alpha, under either common naming:
 *
 * <ul>
 *   <li>kohya-ss: {@code lora_unet_<module with _>.lora_down.weight}, {@code .lora_up.weight},
 *       {@code .alpha}; {@code lora_te_}/{@code lora_te1_} for the (first) text encoder,
 *       {@code lora_te2_} for SDXL's second;
 *   <li>diffusers/PEFT: {@code unet.<module>.lora_A.weight}, {@code .lora_B.weight} (also with a
 *       {@code base_model.model.} prefix, without {@code unet.}, and diffusers' older
 *       {@code .lora.down/.lora.up} and {@code .lora_linear_layer.down/up}); {@code text_encoder.}
 *       and {@code text_encoder_2.} for the text encoders.
 * </ul>
 *
 * Module paths are compared in a canonical form ({@link #canonical}): dots and slashes become
 * underscores, as kohya writes them, and a leading {@code text_model_} is dropped, since exports
 * keep it or not. Immutable.
 */
public final class LoraAdapter {

    /** Which model a module belongs to. */
    public enum Component {
        UNET, TEXT_ENCODER, TEXT_ENCODER_2;

        /** How messages name it. */
        public String label() {
            return switch (this) {
                case UNET -> "UNet";
                case TEXT_ENCODER -> "text encoder";
                case TEXT_ENCODER_2 -> "second text encoder";
            };
        }
    }

    /**
     * One adapted module.
     *
     * @param key       the tensors' common prefix in the file (for messages)
     * @param component the model it adapts
     * @param path      its module path, canonical
     * @param down      the down (A) tensor's name
     * @param up        the up (B) tensor's name
     * @param alpha     the alpha tensor's name, if the file has one
     */
    public record Module(String key, Component component, String path, String down, String up,
                         Optional<String> alpha) {
    }

    private enum Role { DOWN, UP, ALPHA }

    /** Tensor name endings, longest first so {@code .lora.down.weight} is not read as something shorter. */
    private static final Map<String, Role> SUFFIXES = new LinkedHashMap<>();

    static {
        SUFFIXES.put(".lora_linear_layer.down.weight", Role.DOWN);
        SUFFIXES.put(".lora_linear_layer.up.weight", Role.UP);
        SUFFIXES.put(".lora_A.default.weight", Role.DOWN);
        SUFFIXES.put(".lora_B.default.weight", Role.UP);
        SUFFIXES.put(".lora_down.weight", Role.DOWN);
        SUFFIXES.put(".lora.down.weight", Role.DOWN);
        SUFFIXES.put(".lora_up.weight", Role.UP);
        SUFFIXES.put(".lora.up.weight", Role.UP);
        SUFFIXES.put(".lora_A.weight", Role.DOWN);
        SUFFIXES.put(".lora_B.weight", Role.UP);
        SUFFIXES.put(".alpha", Role.ALPHA);
    }

    private final Safetensors file;
    private final List<Module> modules;

    private LoraAdapter(Safetensors file, List<Module> modules) {
        this.file = file;
        this.modules = List.copyOf(modules);
    }

    /**
     * The adapter in a safetensors file.
     *
     * @throws IllegalArgumentException naming the file and tensor for a tensor that is not a LoRA
     *         factor or alpha (LoHa, LoKr, DoRA, full diffs), a module with only one factor, or a
     *         file with no modules
     */
    public static LoraAdapter of(Safetensors file) {
        Map<String, String[]> byKey = new LinkedHashMap<>();
        for (String name : file.tensors().keySet()) {
            Map.Entry<String, Role> suffix = suffix(name).orElseThrow(() -> new IllegalArgumentException(
                    file.label() + ": tensor '" + name + "' is not a LoRA factor (lora_down/lora_up, lora_A/lora_B)"
                            + " or alpha; LoHa, LoKr, DoRA and full weight differences are not supported"));
            String key = name.substring(0, name.length() - suffix.getKey().length());
            String[] parts = byKey.computeIfAbsent(key, k -> new String[3]);
            int slot = suffix.getValue().ordinal();
            if (parts[slot] != null) {
                throw new IllegalArgumentException(file.label() + ": tensors '" + parts[slot] + "' and '" + name
                        + "' are both the " + suffix.getValue().name().toLowerCase(Locale.ROOT) + " of module '" + key + "'");
            }
            parts[slot] = name;
        }
        List<Module> modules = new ArrayList<>();
        for (Map.Entry<String, String[]> e : byKey.entrySet()) {
            String[] parts = e.getValue();
            if (parts[Role.DOWN.ordinal()] == null || parts[Role.UP.ordinal()] == null) {
                String present = parts[Role.DOWN.ordinal()] != null ? parts[Role.DOWN.ordinal()]
                        : parts[Role.UP.ordinal()] != null ? parts[Role.UP.ordinal()] : parts[Role.ALPHA.ordinal()];
                throw new IllegalArgumentException(file.label() + ": module '" + e.getKey() + "' has '" + present
                        + "' but not both its down and up factors");
            }
            modules.add(module(e.getKey(), parts));
        }
        if (modules.isEmpty()) {
            throw new IllegalArgumentException(file.label() + ": holds no LoRA tensors");
        }
        return new LoraAdapter(file, modules);
    }

    private static Optional<Map.Entry<String, Role>> suffix(String name) {
        return SUFFIXES.entrySet().stream().filter(e -> name.endsWith(e.getKey())
                && name.length() > e.getKey().length()).findFirst();
    }

    private static Module module(String key, String[] parts) {
        String rest = key;
        Component component;
        if (rest.startsWith("lora_unet_")) {
            component = Component.UNET;
            rest = rest.substring("lora_unet_".length());
        } else if (rest.startsWith("lora_te2_")) {
            component = Component.TEXT_ENCODER_2;
            rest = rest.substring("lora_te2_".length());
        } else if (rest.startsWith("lora_te1_") || rest.startsWith("lora_te_")) {
            component = Component.TEXT_ENCODER;
            rest = rest.substring(rest.indexOf('_', "lora_te".length()) + 1);
        } else {
            if (rest.startsWith("base_model.model.")) {
                rest = rest.substring("base_model.model.".length());
            }
            if (rest.startsWith("text_encoder_2.")) {
                component = Component.TEXT_ENCODER_2;
                rest = rest.substring("text_encoder_2.".length());
            } else if (rest.startsWith("text_encoder.")) {
                component = Component.TEXT_ENCODER;
                rest = rest.substring("text_encoder.".length());
            } else if (rest.startsWith("text_model.")) {
                component = Component.TEXT_ENCODER; // PEFT on a bare CLIPTextModel
            } else {
                component = Component.UNET;
                if (rest.startsWith("unet.")) {
                    rest = rest.substring("unet.".length());
                }
            }
        }
        return new Module(key, component, canonical(rest), parts[Role.DOWN.ordinal()], parts[Role.UP.ordinal()],
                Optional.ofNullable(parts[Role.ALPHA.ordinal()]));
    }

    /**
     * A module path in the form every naming can be compared in: {@code .} and {@code /} as
     * {@code _}, no leading or trailing {@code _}, without a leading {@code text_model_} or {@code unet_}.
     */
    public static String canonical(String path) {
        String c = path.replace('.', '_').replace('/', '_');
        int from = 0;
        int to = c.length();
        while (from < to && c.charAt(from) == '_') {
            from++;
        }
        while (to > from && c.charAt(to - 1) == '_') {
            to--;
        }
        c = c.substring(from, to);
        for (String prefix : List.of("text_model_", "unet_")) {
            if (c.startsWith(prefix)) {
                c = c.substring(prefix.length());
            }
        }
        return c;
    }

    /** The file the adapter was read from. */
    public Safetensors file() {
        return file;
    }

    /** The adapted modules, in the file's order. */
    public List<Module> modules() {
        return modules;
    }
}
