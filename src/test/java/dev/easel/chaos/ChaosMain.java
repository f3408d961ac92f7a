package dev.easel.chaos;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.logging.Level;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code deployment/chaos.sh [--quick]}: faults against the real local stack and the packaged
 * worker, and a report (docs/reliability.md, "Chaos"). Exit status 0 when no job was lost, none had
 * two different results and none failed wrongly; 1 otherwise; 2 when a scenario could not be
 * carried out (a server that did not come back, a worker that did not start).
 *
 * <pre>./mvnw package -DskipTests &amp;&amp; ./mvnw test-compile exec:java@chaos -Dexec.args="--quick"</pre>
 */
@Command(name = "chaos", mixinStandardHelpOptions = true,
        description = "Kills, outages and garbage against the local stack and the packaged worker; one line per scenario.")
public final class ChaosMain implements Callable<Integer> {

    @Option(names = "--quick", description = "One of each scenario at a small scale (a few minutes), as ChaosIT runs it.")
    boolean quick;

    @Option(names = "--scenarios", split = ",", description = "Which, in order (default: all): ${DEFAULT-VALUE}",
            defaultValue = "kill,broker,brokerkill,coldstart,storage,coldstorage,fuzz,concurrency,twins")
    List<String> scenarios;

    @Option(names = "--jar", defaultValue = "target/quarkus-app/quarkus-run.jar",
            description = "The packaged worker (default ${DEFAULT-VALUE}).")
    Path jar;

    @Option(names = "--work-dir", description = "Where the run writes (default target/chaos-<timestamp>); must be empty or absent.")
    Path workDir;

    @Option(names = "--worker-config", paramLabel = "KEY=VALUE",
            description = "A system property for the worker, over the run's own; KEY= (empty) leaves one of those out.")
    Map<String, String> workerConfig = new LinkedHashMap<>();

    @Option(names = "--seed", description = "Seed for the fuzz records and the kill timing (default: from the clock).")
    Long seed;

    public static void main(String[] args) {
        // The test classpath logs through JBoss LogManager, which wants to be java.util.logging's
        // manager before anything logs (under exec:java Maven's own logging came first: no matter).
        if (System.getProperty("java.util.logging.manager") == null) {
            System.setProperty("java.util.logging.manager", "org.jboss.logmanager.LogManager");
        }
        System.exit(new CommandLine(new ChaosMain()).execute(args));
    }

    @Override
    public Integer call() {
        quietKafkaClients();
        return Chaos.run(settings(), System.out).exitCode();
    }

    Settings settings() {
        for (String name : scenarios) {
            if (!Settings.ALL.contains(name)) {
                throw new CommandLine.ParameterException(new CommandLine(this), "unknown scenario " + name + " (known: " + Settings.ALL + ")");
            }
        }
        Path dir = workDir != null ? workDir
                : Path.of("target", "chaos-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        long s = seed != null ? seed : System.currentTimeMillis();
        return quick ? Settings.quick(jar, dir.toAbsolutePath(), scenarios, s, workerConfig)
                : Settings.full(jar, dir.toAbsolutePath(), scenarios, s, workerConfig);
    }

    /**
     * The Kafka clients log a warning per reconnect attempt while the broker is away and their
     * configuration at INFO: the chaos log says what happens instead. Closing the result puts the
     * levels back (ChaosIT shares its JVM with other tests).
     */
    static AutoCloseable quietKafkaClients() {
        java.util.logging.Logger jul = java.util.logging.Logger.getLogger("org.apache.kafka");
        Level julBefore = jul.getLevel();
        jul.setLevel(Level.SEVERE);
        Object jboss = null;
        Level jbossBefore = null;
        try {
            Class<?> context = Class.forName("org.jboss.logmanager.LogContext");
            Object logContext = context.getMethod("getLogContext").invoke(null);
            jboss = context.getMethod("getLogger", String.class).invoke(logContext, "org.apache.kafka");
            jbossBefore = (Level) jboss.getClass().getMethod("getLevel").invoke(jboss);
            jboss.getClass().getMethod("setLevel", Level.class).invoke(jboss, Level.SEVERE);
        } catch (ReflectiveOperationException | LinkageError | ClassCastException e) {
            jboss = null; // not JBoss LogManager: java.util.logging above, or whatever the binding does
        }
        Object jbossLogger = jboss;
        Level jbossLevel = jbossBefore;
        return () -> {
            jul.setLevel(julBefore);
            if (jbossLogger != null) {
                jbossLogger.getClass().getMethod("setLevel", Level.class).invoke(jbossLogger, jbossLevel);
            }
        };
    }
}
