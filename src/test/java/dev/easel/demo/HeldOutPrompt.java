package dev.easel.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One evaluation prompt of the demo model and what the picture must show. The list
 * (heldout-prompts.json, written with fixed seeds by the training script) holds only scenes that
 * training never showed: kind "single" or "two" objects; split "test" (an unseen scene of seen
 * color–shape pairs) or "novel" (a color–shape pair held out of training altogether). The partial
 * prompts (partial-prompts.json) name only some of a one-object scene's attributes ("a green
 * triangle"): what they leave out is empty here and not judged; their split "example" holds
 * README's example prompts, each with several seeds.
 *
 * @param background empty when the prompt does not name it
 * @param relation "left of", "right of", "above" or "below" (two objects), else empty
 */
public record HeldOutPrompt(String kind, String split, String prompt, long seed, Optional<Palette> background,
                            Optional<String> relation, List<Expected> objects) {

    /** @param size and {@code position} are empty for the objects of two-object scenes */
    public record Expected(Palette color, SceneChecker.Shape shape, Optional<String> size, Optional<String> position) {
    }

    public static final String RESOURCE = "/dev/easel/demo/heldout-prompts.json";
    public static final String PARTIAL_RESOURCE = "/dev/easel/demo/partial-prompts.json";

    /** The held-out prompts with full captions. */
    public static List<HeldOutPrompt> all() {
        return read(RESOURCE);
    }

    /** The partial prompts and README's examples. */
    public static List<HeldOutPrompt> partial() {
        return read(PARTIAL_RESOURCE);
    }

    /**
     * Prompts in the same format from a file, e.g. a development set drawn with another seed
     * ({@code export.partial_prompts(seed)}) to choose between models without looking at the
     * committed evaluation prompts.
     */
    public static List<HeldOutPrompt> read(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return parse(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<HeldOutPrompt> read(String resource) {
        try (InputStream in = HeldOutPrompt.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " is not on the test classpath");
            }
            return parse(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<HeldOutPrompt> parse(InputStream in) throws IOException {
        List<HeldOutPrompt> out = new ArrayList<>();
        for (JsonNode n : new ObjectMapper().readTree(in)) {
            List<Expected> objects = new ArrayList<>();
            for (JsonNode o : n.get("objects")) {
                objects.add(new Expected(Palette.of(o.get("color").asText()),
                        SceneChecker.Shape.valueOf(o.get("shape").asText().toUpperCase(java.util.Locale.ROOT)),
                        text(o, "size"), text(o, "position")));
            }
            out.add(new HeldOutPrompt(n.get("kind").asText(), n.get("split").asText(), n.get("prompt").asText(),
                    n.get("seed").asLong(), text(n, "background").map(Palette::of), text(n, "relation"),
                    List.copyOf(objects)));
        }
        return List.copyOf(out);
    }

    /** The first {@code n} prompts of a kind and split, in file order. */
    public static List<HeldOutPrompt> select(List<HeldOutPrompt> all, String kind, String split, int n) {
        return all.stream().filter(p -> p.kind().equals(kind) && p.split().equals(split)).limit(n).toList();
    }

    private static Optional<String> text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? Optional.empty() : Optional.of(value.asText());
    }
}
