package dev.easel.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.easel.engine.tokenizer.PromptSyntax.Break;
import dev.easel.engine.tokenizer.PromptSyntax.Fragment;
import dev.easel.engine.tokenizer.PromptSyntax.Text;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** AUTOMATIC1111's parse_prompt_attention: its docstring's examples, then edge cases. Weights compare exactly. */
class PromptSyntaxTest {

    private static final double ROUND = 1.1;
    private static final double SQUARE = 1 / 1.1;
    private static final Break BREAK = new Break();

    private static Text text(String text, double weight) {
        return new Text(text, weight);
    }

    private static void assertParses(String prompt, Fragment... expected) {
        assertEquals(List.of(expected), PromptSyntax.parse(prompt), prompt);
    }

    // --- the docstring of modules/prompt_parser.py

    @Test
    void normalText() {
        assertParses("normal text", text("normal text", 1.0));
    }

    @Test
    void importantWord() {
        assertParses("an (important) word", text("an ", 1.0), text("important", 1.1), text(" word", 1.0));
    }

    @Test
    void unbalanced() {
        assertParses("(unbalanced", text("unbalanced", 1.1));
    }

    @Test
    void literal() {
        assertParses("\\(literal\\]", text("(literal]", 1.0));
    }

    @Test
    void unnecessaryParens() {
        assertParses("(unnecessary)(parens)", text("unnecessaryparens", 1.1));
    }

    @Test
    void houseOnAHill() {
        assertParses("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
                text("a ", 1.0),
                text("house", 1.5730000000000004),
                text(" ", 1.1),
                text("on", 1.0),
                text(" a ", 1.1),
                text("hill", 0.55),
                text(", sun, ", 1.1),
                text("sky", 1.4641000000000006),
                text(".", 1.1));
    }

    // --- edge cases, worked through A1111's algorithm

    @ParameterizedTest
    @ValueSource(strings = {"", "()", "[]", "(())[", "(:2)"})
    void nothingIsOneEmptyFragment(String prompt) {
        assertParses(prompt, text("", 1.0));
    }

    @Test
    void squareBracketsDivide() {
        assertParses("[a]", text("a", SQUARE));
        assertParses("[[a]]", text("a", 1.0 * SQUARE * SQUARE));
        assertParses("[unbalanced", text("unbalanced", SQUARE));
    }

    @Test
    void nestingMultipliesInClosingOrder() {
        assertParses("([a])", text("a", 1.0 * SQUARE * ROUND));
        assertParses("((a) b", text("a", 1.0 * ROUND * ROUND), text(" b", ROUND));
        assertParses("((a:1.5) b:0.5)", text("a", 1.0 * 1.5 * 0.5), text(" b", 0.5));
    }

    @Test
    void openBracketsCloseAtTheEndRoundBeforeSquare() {
        // the round bracket's 1.1 is applied first, then the square's 1/1.1, as A1111 loops
        assertParses("[a (b", text("a ", SQUARE), text("b", 1.0 * ROUND * SQUARE));
    }

    @Test
    void explicitWeights() {
        assertParses("(a:1.5)", text("a", 1.5));
        assertParses("(a:-1)", text("a", -1.0));
        assertParses("(a:+.5) b", text("a", 0.5), text(" b", 1.0));
        assertParses("(a:2.) b", text("a", 2.0), text(" b", 1.0));
        assertParses("(a:0) (b:-0)", text("a", 0.0), text(" ", 1.0), text("b", -0.0));
    }

    @Test
    void unicodeDigitsAreDigitsAsInPython() {
        assertParses("(a:\u0661.\u0665)", text("a", 1.5)); // Arabic-Indic 1.5
    }

    @Test
    void aWeightWithSpacesIsText() {
        // A1111's pattern has no spaces in ":1.5)": the colon and the rest are text, the ")" closes with 1.1
        assertParses("(a: 1.5)", text("a: 1.5", 1.1));
    }

    @Test
    void aWeightThatIsNoNumberIsText() {
        // A1111 raises here (float(".")); the ":.)" is text and the "(" stays open to the end
        assertParses("(a:.)", text("a:.)", 1.1));
        assertParses("(a:1.2.3) b", text("a:1.2.3) b", 1.1));
    }

    @Test
    void colonsOutsideWeightsAreText() {
        assertParses("a:b (c:d) e:", text("a:b ", 1.0), text("c:d", 1.1), text(" e:", 1.0));
        assertParses("[a:1.5]", text("a:1.5", SQUARE));
    }

    @Test
    void unmatchedClosersAndWeightsAreText() {
        assertParses("a ) b ] c", text("a ) b ] c", 1.0));
        assertParses("a:1.5) b", text("a:1.5) b", 1.0));
        assertParses("(a]", text("a]", ROUND));
    }

    @Test
    void escapes() {
        assertParses("\\(a\\) \\[b\\] \\\\", text("(a) [b] \\", 1.0));
        assertParses("(\\(a\\))", text("(a)", 1.1));
        assertParses("\\\\(a)", text("\\", 1.0), text("a", 1.1));
    }

    @Test
    void aLoneBackslashIsDropped() {
        assertParses("a\\b \\", text("ab ", 1.0));
    }

    @Test
    void equalNeighboursMergeOthersDoNot() {
        assertParses("(a:1.2) (b:1.2)", text("a", 1.2), text(" ", 1.0), text("b", 1.2));
        assertParses("(a:1.2)(b:1.2)", text("ab", 1.2));
        assertParses("(a)b", text("a", 1.1), text("b", 1.0));
    }

    @Test
    void breakSplitsAndEatsTheWhitespaceAround() {
        assertParses("a cat BREAK a dog", text("a cat", 1.0), BREAK, text("a dog", 1.0));
        assertParses("a\n\tBREAK\u3000b", text("a", 1.0), BREAK, text("b", 1.0));
        assertParses("a,BREAK,b", text("a,", 1.0), BREAK, text(",b", 1.0));
    }

    @Test
    void breakAtTheEdgesLeavesEmptyFragments() {
        assertParses("BREAK a", text("", 1.0), BREAK, text("a", 1.0));
        assertParses("a BREAK", text("a", 1.0), BREAK, text("", 1.0));
        assertParses("a BREAK BREAK b", text("a", 1.0), BREAK, text("", 1.0), BREAK, text("b", 1.0));
    }

    @ParameterizedTest
    @ValueSource(strings = {"a break b", "a Break b", "BREAKfast", "xBREAK", "BREAK_", "BREAK1", "\u00e9BREAK"})
    void breakOnlyAsAnUppercaseWord(String prompt) {
        assertParses(prompt, text(prompt, 1.0));
    }

    @Test
    void breakBesideWeightedTextBreaksBetweenEmptyFragments() {
        assertParses("(a) BREAK (b)", text("a", 1.1), text("", 1.0), BREAK, text("", 1.0), text("b", 1.1));
    }

    @Test
    void breakInsideBracketsIsTextWithANegativeWeightAsInA1111() {
        // the marker's -1 is multiplied by 1.1; tokenize_line only breaks on exactly -1
        assertParses("(a BREAK b)", text("a", 1.1), text("BREAK", -1.1), text("b", 1.1));
    }

    @Test
    void mergedTextSpellingBreakWithWeightMinusOneBreaksAsInA1111() {
        assertParses("(BREA:-1)(K:-1)", BREAK);
    }

    @Test
    void fragmentsAreImmutableAndNullIsRefused() {
        List<Fragment> parsed = PromptSyntax.parse("a (b)");
        assertThrows(UnsupportedOperationException.class, () -> parsed.add(BREAK));
        assertThrows(NullPointerException.class, () -> PromptSyntax.parse(null));
    }

    @Test
    void modeWireNames() {
        assertEquals(PromptMode.PLAIN, PromptMode.of("plain"));
        assertEquals(PromptMode.WEIGHTED, PromptMode.of("weighted"));
        assertEquals("weighted", PromptMode.WEIGHTED.wireName());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PromptMode.of("Weighted"));
        assertEquals("prompt mode 'Weighted' is not one of plain, weighted", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PromptMode.of(null));
    }
}
