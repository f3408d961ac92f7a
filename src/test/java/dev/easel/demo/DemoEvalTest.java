package dev.easel.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class DemoEvalTest {

    @Test
    void rowsNameTheTablesRowsAsWritten() {
        DemoEval eval = new DemoEval();
        new CommandLine(eval).parseArgs("--rows", "one,partial-novel,examples");
        assertEquals(EnumSet.of(DemoEval.Row.ONE, DemoEval.Row.PARTIAL_NOVEL, DemoEval.Row.EXAMPLES), eval.onlyRows);
    }

    @Test
    void withoutRowsEveryRowIsDrawn() {
        DemoEval eval = new DemoEval();
        new CommandLine(eval).parseArgs();
        assertNull(eval.onlyRows);
    }

    @Test
    void anUnknownRowIsRefusedListingTheKnownOnes() {
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new DemoEval()).setErr(new PrintWriter(err));
        assertEquals(2, cli.execute("--rows", "one,partials"));
        assertTrue(err.toString().contains("--rows: unknown row 'partials' (one of one, two, novel, partial,"
                + " partial-novel, examples, unguided, schedulers)"), err.toString());
    }
}
