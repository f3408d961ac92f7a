package dev.easel.observe;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.logging.Handler;
import org.jboss.logmanager.formatters.PatternFormatter;
import org.jboss.logmanager.handlers.AsyncHandler;
import org.jboss.logmanager.handlers.ConsoleHandler;
import org.jboss.logmanager.handlers.FileHandler;
import org.junit.jupiter.api.Test;

class JsonLoggingTest {

    @Test
    void consoleHandlersGetTheFormatterWhereverTheyAreNested() {
        ConsoleHandler direct = new ConsoleHandler(new PatternFormatter("%m%n"));
        ConsoleHandler behindAsync = new ConsoleHandler(new PatternFormatter("%m%n"));
        AsyncHandler async = new AsyncHandler();
        async.addHandler(behindAsync);
        FileHandler file = new FileHandler();
        PatternFormatter filePattern = new PatternFormatter("%m%n");
        file.setFormatter(filePattern);
        JsonLogFormatter json = new JsonLogFormatter();

        int replaced = JsonLogging.install(new Handler[] {direct, async, file}, json);

        assertThat(replaced).isEqualTo(2);
        assertThat(direct.getFormatter()).isSameAs(json);
        assertThat(behindAsync.getFormatter()).isSameAs(json);
        assertThat(file.getFormatter()).isSameAs(filePattern);
    }

    @Test
    void noConsoleHandlerIsReported() {
        assertThat(JsonLogging.install(new Handler[0], new JsonLogFormatter())).isZero();
    }
}
