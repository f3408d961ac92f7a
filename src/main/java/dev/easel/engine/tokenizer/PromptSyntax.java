package dev.easel.engine.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * AUTOMATIC1111's attention syntax ({@code modules/prompt_parser.py}, {@code parse_prompt_attention}):
 * {@code (a)} multiplies a's weight by 1.1, {@code [a]} divides it by 1.1, {@code (a:1.3)} multiplies
 * it by 1.3, nesting multiplies; {@code \( \) \[ \] \\} are literal characters; brackets left open are
 * closed at the end (round ones first, then square ones); a {@code )} or {@code ]} with nothing open is
 * text; adjacent fragments of equal weight are merged; the word {@code BREAK} splits the prompt's
 * chunks.
 *
 * <p>The algorithm is A1111's, step for step, so that prompts copied from it give the same weights
 * to the last bit, quirks included: a lone backslash is dropped; {@code BREAK} inside brackets has
 * its marker weight -1 multiplied and so becomes the literal word "BREAK" with a negative weight
 * (A1111's {@code tokenize_line} only breaks on weight exactly -1); empty fragments are kept.
 * One deviation: where A1111 raises ({@code float(".")} in {@code (a:.)}), the {@code :.)} is text,
 * as it is when no round bracket is open. Weights are doubles, as Python's floats; {@code \d} and
 * {@code \s}/{@code \b} follow Python's Unicode rules.
 */
public final class PromptSyntax {

    /** A parsed piece of a prompt: weighted {@link Text} or a {@link Break}. */
    public sealed interface Fragment permits Text, Break {
    }

    /** Text whose tokens carry {@code weight} (1.0 where the prompt gives none). */
    public record Text(String text, double weight) implements Fragment {
        public Text {
            Objects.requireNonNull(text, "text");
        }
    }

    /** {@code BREAK}: the tokens after it start a new chunk. */
    public record Break() implements Fragment {
    }

    static final double ROUND = 1.1;
    static final double SQUARE = 1 / 1.1;

    /** A1111's {@code re_attention}, with Python's Unicode {@code \d} as {@code \p{Nd}}. */
    private static final Pattern ATTENTION = Pattern.compile(
            "\\\\\\(|\\\\\\)|\\\\\\[|\\\\]|\\\\\\\\|\\\\|\\(|\\[|:([+-]?[.\\p{Nd}]+)\\)|\\)|]|[^\\\\()\\[\\]:]+|:");

    private static final String BREAK = "BREAK";
    private static final double BREAK_WEIGHT = -1;

    private PromptSyntax() {
    }

    /** The fragments of {@code text}; never empty ("" gives one empty text of weight 1). */
    public static List<Fragment> parse(String text) {
        Objects.requireNonNull(text, "text");
        List<Part> parts = new ArrayList<>();
        List<Integer> round = new ArrayList<>();
        List<Integer> square = new ArrayList<>();
        Matcher m = ATTENTION.matcher(text);
        while (m.find()) {
            String token = m.group();
            Double weight = m.group(1) == null ? null : pythonFloat(m.group(1));
            if (token.startsWith("\\")) {
                parts.add(new Part(token.substring(1), 1.0));
            } else if (token.equals("(")) {
                round.add(parts.size());
            } else if (token.equals("[")) {
                square.add(parts.size());
            } else if (weight != null && !round.isEmpty()) {
                multiply(parts, pop(round), weight);
            } else if (token.equals(")") && !round.isEmpty()) {
                multiply(parts, pop(round), ROUND);
            } else if (token.equals("]") && !square.isEmpty()) {
                multiply(parts, pop(square), SQUARE);
            } else {
                addSplitAtBreak(parts, token);
            }
        }
        round.forEach(position -> multiply(parts, position, ROUND));
        square.forEach(position -> multiply(parts, position, SQUARE));
        if (parts.isEmpty()) {
            parts.add(new Part("", 1.0));
        }
        return fragments(merge(parts));
    }

    /** A1111's working pair: BREAK is ("BREAK", -1) until the end, as there. */
    private static final class Part {
        String text;
        double weight;

        Part(String text, double weight) {
            this.text = text;
            this.weight = weight;
        }
    }

    private static int pop(List<Integer> stack) {
        return stack.remove(stack.size() - 1);
    }

    private static void multiply(List<Part> parts, int from, double multiplier) {
        for (int p = from; p < parts.size(); p++) {
            parts.get(p).weight *= multiplier;
        }
    }

    private static void addSplitAtBreak(List<Part> parts, String text) {
        List<String> pieces = BreakSplitter.split(text);
        for (int i = 0; i < pieces.size(); i++) {
            if (i > 0) {
                parts.add(new Part(BREAK, BREAK_WEIGHT));
            }
            parts.add(new Part(pieces.get(i), 1.0));
        }
    }

    /** "merge runs of identical weights"; Python's {@code ==}, so 0.0 equals -0.0. */
    private static List<Part> merge(List<Part> parts) {
        int i = 0;
        while (i + 1 < parts.size()) {
            if (parts.get(i).weight == parts.get(i + 1).weight) {
                parts.get(i).text += parts.remove(i + 1).text;
            } else {
                i++;
            }
        }
        return parts;
    }

    /** A break is what A1111's {@code tokenize_line} takes for one: "BREAK" with weight exactly -1. */
    private static List<Fragment> fragments(List<Part> parts) {
        List<Fragment> fragments = new ArrayList<>(parts.size());
        for (Part part : parts) {
            boolean isBreak = part.text.equals(BREAK) && part.weight == BREAK_WEIGHT;
            fragments.add(isBreak ? new Break() : new Text(part.text, part.weight));
        }
        return List.copyOf(fragments);
    }

    /** Python's {@code float()} of {@code [+-]?[.\d]+}, Unicode digits included; null where it raises. */
    private static Double pythonFloat(String number) {
        StringBuilder ascii = new StringBuilder(number.length());
        number.codePoints().forEach(cp -> ascii.append(
                Character.isDigit(cp) ? (char) ('0' + Character.digit(cp, 10)) : (char) cp));
        try {
            return Double.parseDouble(ascii.toString());
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
