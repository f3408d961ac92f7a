package dev.easel.engine.tokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Python's {@code html.unescape}, which OpenAI's CLIP tokenizer applies (twice) to every prompt.
 * Covered exactly: every numeric reference (decimal and hex, with or without ';', including
 * Python's replacements for NUL, CR, the C1 range read as windows-1252, surrogates and values
 * beyond U+10FFFF, and the dropping of non-characters and control code points), and every one of
 * the 2,231 HTML5 named references (html5-entities.tsv, the WHATWG table that Python uses), with
 * the legacy names (&amp;amp, &amp;eacute, ...) also accepted without ';' and as a prefix
 * ("&amp;notit;" → "¬it;"), as Python does.
 */
final class HtmlUnescape {

    private static final Pattern CHARREF =
            Pattern.compile("&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\\t\\n\\f <&#;]{1,32};?)");

    /** What Python puts for &amp;#x80; .. &amp;#x9F;: the windows-1252 character of that byte. */
    private static final String C1_AS_CP1252 = "\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021"
            + "\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F\u0090\u2018\u2019\u201C\u201D\u2022"
            + "\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178";

    private static final int BEYOND_UNICODE = 0x110000;

    private static final Map<String, String> ENTITIES = loadEntities();

    private HtmlUnescape() {
    }

    static String unescape(String text) {
        if (text.indexOf('&') < 0) {
            return text; // the common case costs one scan
        }
        return CHARREF.matcher(text).replaceAll(m -> Matcher.quoteReplacement(replace(m.group(1))));
    }

    private static String replace(String ref) {
        return ref.charAt(0) == '#' ? numeric(ref) : named(ref);
    }

    private static String numeric(String ref) {
        boolean hex = ref.charAt(1) == 'x' || ref.charAt(1) == 'X';
        int radix = hex ? 16 : 10;
        int end = ref.endsWith(";") ? ref.length() - 1 : ref.length();
        int cp = 0;
        for (int i = hex ? 2 : 1; i < end; i++) {
            // Python reads arbitrarily long numbers; all those past U+10FFFF behave alike.
            cp = Math.min(cp * radix + Character.digit(ref.charAt(i), radix), BEYOND_UNICODE);
        }
        if (cp == 0) {
            return "\uFFFD";
        }
        if (cp == '\r') {
            return "\r";
        }
        if (cp >= 0x80 && cp <= 0x9F) {
            return String.valueOf(C1_AS_CP1252.charAt(cp - 0x80));
        }
        if ((cp >= 0xD800 && cp <= 0xDFFF) || cp >= BEYOND_UNICODE) {
            return "\uFFFD";
        }
        return isDropped(cp) ? "" : Character.toString(cp);
    }

    /** Python's {@code _invalid_codepoints}: C0 controls but TAB/LF/FF/CR, DEL, non-characters. */
    private static boolean isDropped(int cp) {
        return (cp >= 0x01 && cp <= 0x08) || cp == 0x0B || (cp >= 0x0E && cp <= 0x1F) || cp == 0x7F
                || (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
    }

    private static String named(String ref) {
        String whole = ENTITIES.get(ref);
        if (whole != null) {
            return whole;
        }
        // The longest known prefix wins; only the legacy names (no ';' in the table) can match here.
        for (int length = ref.length() - 1; length > 1; length--) {
            String prefix = ENTITIES.get(ref.substring(0, length));
            if (prefix != null) {
                return prefix + ref.substring(length);
            }
        }
        return "&" + ref;
    }

    private static Map<String, String> loadEntities() {
        try (InputStream in = HtmlUnescape.class.getResourceAsStream("html5-entities.tsv")) {
            if (in == null) {
                throw new IllegalStateException("html5-entities.tsv is missing from the classpath");
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            Map<String, String> entities = new HashMap<>(4096);
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (!line.startsWith("#")) {
                    int tab = line.indexOf('\t');
                    entities.put(line.substring(0, tab), codePoints(line.substring(tab + 1)));
                }
            }
            return Map.copyOf(entities);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String codePoints(String hexList) {
        StringBuilder text = new StringBuilder(2);
        for (String hex : hexList.split(" ")) {
            text.appendCodePoint(Integer.parseInt(hex, 16));
        }
        return text.toString();
    }
}
