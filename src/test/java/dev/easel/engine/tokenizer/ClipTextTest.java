package dev.easel.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The cleaning half of CLIP's tokenizer, checked against Python's results for the same input. */
class ClipTextTest {

    @Test
    void collapsesUnicodeWhitespaceAndStrips() {
        assertEquals("hi there x y", ClipText.clean(" hi\u00a0there\u2003x\u0085y\t\n", true));
    }

    @Test
    void informationSeparatorsAreStrippedAtTheEndsButKeptInside() {
        // Python's str.strip() counts U+001C..U+001F as space, the regex \s of whitespace_clean does not.
        assertEquals("a\u001cb", ClipText.clean("\u001f a\u001cb \u001e", true));
    }

    @Test
    void unescapesTwiceThenLowerCases() {
        assertEquals("<3 caf\u00e9", ClipText.clean("&amp;lt;3 CAF&Eacute;", true));
    }

    @Test
    void normalisesToNfcBeforeAnythingElse() {
        assertEquals("caf\u00e9", ClipText.clean("cafe\u0301", true));
    }

    @Test
    void keepsCaseWhenAsked() {
        assertEquals("Red Circle", ClipText.clean("Red   Circle", false));
    }
}
