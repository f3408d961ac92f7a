package dev.easel.testing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import org.jboss.logmanager.ExtHandler;
import org.jboss.logmanager.ExtLogRecord;
import org.jboss.logmanager.LogContext;
import org.jboss.logmanager.Logger;

/**
 * Records what a logger category (and those below it) logs, MDC included, until closed. Needs
 * JBoss LogManager as the JUL manager, as surefire and failsafe set it (pom.xml) and Quarkus does.
 */
public final class LogCapture extends ExtHandler implements AutoCloseable {

    private final Logger logger;
    private final List<ExtLogRecord> records = new CopyOnWriteArrayList<>();

    private LogCapture(String category) {
        this.logger = LogContext.getLogContext().getLogger(category);
        logger.addHandler(this);
    }

    /** Starts recording {@code category}. */
    public static LogCapture of(String category) {
        return new LogCapture(category);
    }

    @Override
    protected void doPublish(ExtLogRecord record) {
        record.copyAll(); // takes the MDC (and the formatted message) from the logging thread now
        records.add(record);
    }

    /** The records so far that match. */
    public List<ExtLogRecord> records(Predicate<ExtLogRecord> wanted) {
        return records.stream().filter(wanted).toList();
    }

    @Override
    public void close() {
        logger.removeHandler(this);
    }
}
