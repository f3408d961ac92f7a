package dev.easel.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Expected values are what Python 3.11's html.unescape returns for the same input. */
class HtmlUnescapeTest {

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "&#39;|'", "&#x27;|'", "&#X41;|A", "&#65|A", "&#65x|Ax", "&#x1F600;|\uD83D\uDE00",
        "&amp;|&", "&amp|&", "&AMP;|&", "&eacute;|\u00e9", "&eacute|\u00e9", "&Eacute;t&eacute;|\u00c9t\u00e9",
        "&copy|\u00a9", "&nbsp;|\u00a0", "&notin;|\u2209", "&notit;|\u00acit;", "&acE;|\u223e\u0333",
        "&lt;3|<3", "&amp;lt;|&lt;", "a & b|a & b", "&foo;|&foo;", "&;|&;", "&#;|&#;", "&#x;|&#x;",
        "&#0;|\ufffd", "&#128;|\u20ac", "&#150;|\u2013", "&#xD800;|\ufffd", "&#1114112;|\ufffd",
        "&#99999999999999999999;|\ufffd", "x&#1;y|xy", "x&#x7f;y|xy", "x&#xFFFE;y|xy",
    })
    void matchesPython(String escaped, String expected) {
        assertEquals(expected, HtmlUnescape.unescape(escaped));
    }

    @Test
    void carriageReturnReferenceBecomesCarriageReturn() {
        // Kept out of the CSV above, which would trim a bare CR.
        assertEquals("\r", HtmlUnescape.unescape("&#13;"));
    }
}
