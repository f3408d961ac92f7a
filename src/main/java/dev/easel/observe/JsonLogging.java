package dev.easel.observe;

import dev.easel.config.LogConfig;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.interceptor.Interceptor;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import org.jboss.logging.Logger;
import org.jboss.logmanager.ExtHandler;
import org.jboss.logmanager.LogContext;
import org.jboss.logmanager.handlers.ConsoleHandler;

/**
 * Switches the console log to {@link JsonLogFormatter} when {@code easel.log.json} is true.
 * Quarkus takes other formatters only from extensions (build items), and quarkus-logging-json has
 * no 3.38 release here, so the formatter is set on the console handler that Quarkus configured,
 * found under the root logger with JBoss LogManager's public API, as the application starts:
 * the few lines Quarkus logs before that are still text (docs/decisions.md). Level, filters and
 * async settings ({@code quarkus.log.console.*}) stay as configured.
 */
@ApplicationScoped
public class JsonLogging {

    private static final Logger LOG = Logger.getLogger(JsonLogging.class);

    private final LogConfig config;

    @Inject
    JsonLogging(LogConfig config) {
        this.config = config;
    }

    // Before the other startup observers (messaging connectors among them), so their lines are JSON.
    void onStart(@Observes @Priority(Interceptor.Priority.PLATFORM_BEFORE) StartupEvent event) {
        if (!config.json()) {
            return;
        }
        int replaced = install(LogContext.getLogContext().getLogger("").getHandlers(), new JsonLogFormatter());
        if (replaced == 0) {
            LOG.warn("easel.log.json is on, but Quarkus configured no console handler: log lines stay as they are");
        }
    }

    /**
     * Sets {@code formatter} on every console handler among {@code handlers} and the handlers they
     * delegate to (Quarkus's delayed root handler; an async handler when
     * {@code quarkus.log.console.async} is on).
     *
     * @return how many console handlers now use it
     */
    static int install(Handler[] handlers, Formatter formatter) {
        int replaced = 0;
        for (Handler handler : handlers) {
            if (handler instanceof ConsoleHandler) {
                handler.setFormatter(formatter);
                replaced++;
            } else if (handler instanceof ExtHandler parent) {
                replaced += install(parent.getHandlers(), formatter);
            }
        }
        return replaced;
    }
}
