package dev.easel.engine.tokenizer;

import java.text.Normalizer;
import java.util.Locale;

/**
 * The prompt cleaning of OpenAI's CLIP {@code simple_tokenizer}: {@code basic_clean} (ftfy, then
 * HTML unescape twice, strip), {@code whitespace_clean} (runs of whitespace to one space, strip),
 * then lower case. Of ftfy's fixes only its NFC normalisation is done (see {@link ClipTokenizer}).
 */
final class ClipText {

    private ClipText() {
    }

    static String clean(String text, boolean lowerCase) {
        String nfc = Normalizer.isNormalized(text, Normalizer.Form.NFC)
                ? text : Normalizer.normalize(text, Normalizer.Form.NFC);
        String unescaped = HtmlUnescape.unescape(HtmlUnescape.unescape(nfc));
        String collapsed = collapseWhitespace(unescaped);
        return lowerCase ? collapsed.toLowerCase(Locale.ROOT) : collapsed;
    }

    /**
     * {@code whitespace_clean} after {@code basic_clean}'s strip: {@code regex.sub(r'\s+', ' ', t)}
     * collapses runs of Unicode White_Space, while Python's {@code str.strip()} also removes the
     * information separators U+001C..U+001F, which inside the text stay ordinary symbols.
     */
    static String collapseWhitespace(String text) {
        int start = 0;
        int end = text.length();
        while (start < end && isPythonSpace(text.codePointAt(start))) {
            start += Character.charCount(text.codePointAt(start));
        }
        while (end > start && isPythonSpace(text.codePointBefore(end))) {
            end -= Character.charCount(text.codePointBefore(end));
        }
        StringBuilder out = new StringBuilder(end - start);
        boolean inSpace = false;
        for (int i = start; i < end; ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (!isWhiteSpace(cp)) {
                out.appendCodePoint(cp);
            } else if (!inSpace) {
                out.append(' ');
            }
            inSpace = isWhiteSpace(cp);
        }
        return out.toString();
    }

    /** Unicode's White_Space: Java's {@code isWhitespace} lacks the no-break spaces and NEL, and adds U+001C..U+001F. */
    private static boolean isWhiteSpace(int cp) {
        return Character.isSpaceChar(cp) || cp == 0x85 || (Character.isWhitespace(cp) && (cp < 0x1C || cp > 0x1F));
    }

    /** Python's {@code str.isspace()}: White_Space plus U+001C..U+001F. */
    static boolean isPythonSpace(int cp) {
        return isWhiteSpace(cp) || (cp >= 0x1C && cp <= 0x1F);
    }
}
