package dev.easel.engine.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code re.split(r"\s*\bBREAK\b\s*", text)} of A1111's {@code prompt_parser.py}, by hand because
 * Java's {@code \b} and {@code \s} are not Python's: a word character is Python's {@code isalnum()}
 * or "_", whitespace is {@code str.isspace()}.
 */
final class BreakSplitter {

    private static final String BREAK = "BREAK";

    private BreakSplitter() {
    }

    static List<String> split(String text) {
        List<String> pieces = new ArrayList<>();
        int pieceStart = 0;
        int at = text.indexOf(BREAK);
        while (at >= 0) {
            int after = at + BREAK.length();
            if (isBoundary(text, at) && isBoundary(text, after)) {
                // the leftmost match starts at the whitespace before BREAK, but not inside the previous match
                int start = at;
                while (start > pieceStart && ClipText.isPythonSpace(text.codePointBefore(start))) {
                    start -= Character.charCount(text.codePointBefore(start));
                }
                int end = after;
                while (end < text.length() && ClipText.isPythonSpace(text.codePointAt(end))) {
                    end += Character.charCount(text.codePointAt(end));
                }
                pieces.add(text.substring(pieceStart, start));
                pieceStart = end;
                at = text.indexOf(BREAK, end);
            } else {
                at = text.indexOf(BREAK, at + 1);
            }
        }
        pieces.add(text.substring(pieceStart));
        return pieces;
    }

    /** {@code \b} at {@code index} next to "BREAK", whose letters are word characters. */
    private static boolean isBoundary(String text, int index) {
        boolean wordBefore = index > 0 && isWord(text.codePointBefore(index));
        boolean wordAfter = index < text.length() && isWord(text.codePointAt(index));
        return wordBefore != wordAfter;
    }

    /** Python's {@code \w}: {@code str.isalnum()} (letters, and Nd, Nl, No numbers) or "_". */
    private static boolean isWord(int cp) {
        if (cp == '_' || Character.isLetter(cp)) {
            return true;
        }
        int type = Character.getType(cp);
        return type == Character.DECIMAL_DIGIT_NUMBER || type == Character.LETTER_NUMBER
                || type == Character.OTHER_NUMBER;
    }
}
