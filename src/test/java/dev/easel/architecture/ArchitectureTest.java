package dev.easel.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The engine is a plain Java library: no Quarkus, Jakarta, CDI, MicroProfile, AWT or picocli
 * types, and nothing from the worker's packages. Plain JUnit over ArchUnit's core API, so the
 * rules run under any JUnit Platform version.
 */
class ArchitectureTest {

    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.easel");
    }

    @Test
    void engineIsPlainJava() {
        noClasses().that().resideInAPackage("dev.easel.engine..")
                .should().dependOnClassesThat().resideInAnyPackage(
                        "io.quarkus..", "jakarta..", "javax.inject..", "javax.enterprise..",
                        "org.eclipse.microprofile..", "io.smallrye..", "io.vertx..", "picocli..",
                        "java.awt..", "javax.imageio..")
                .because("the engine must be usable and testable as a plain library, headless and in native images")
                .check(classes);
    }

    @Test
    void engineDoesNotReachOutward() {
        noClasses().that().resideInAPackage("dev.easel.engine..")
                .should().dependOnClassesThat().resideInAnyPackage(
                        "dev.easel.cli..", "dev.easel.contract..", "dev.easel.messaging..", "dev.easel.store..",
                        "dev.easel.notify..", "dev.easel.api..", "dev.easel.config..", "dev.easel.worker..",
                        "dev.easel.observe..")
                .because("dependencies point inward: the worker uses the engine, never the reverse")
                .check(classes);
    }

    @Test
    void schedulersDoNotKnowModels() {
        noClasses().that().resideInAPackage("dev.easel.engine.scheduler..")
                .should().dependOnClassesThat().resideInAnyPackage(
                        "dev.easel.engine.onnx..", "dev.easel.engine.pipeline..", "ai.onnxruntime..")
                .because("schedulers are separate from models and pipelines (diffusers' design)")
                .check(classes);
    }

    @Test
    void theContractIsSharedNotOwned() {
        noClasses().that().resideInAPackage("dev.easel.contract..")
                .should().dependOnClassesThat().resideInAnyPackage(
                        "dev.easel.worker..", "dev.easel.api..", "dev.easel.messaging..", "dev.easel.notify..",
                        "dev.easel.config..", "dev.easel.cli..", "io.quarkus..", "jakarta..")
                .because("every way in (Kafka, HTTP) and the worker read the same contract; it depends on none of them")
                .check(classes);
    }

    @Test
    void theHttpApiUsesTheWorkerOnlyThroughItsService() {
        noClasses().that().resideInAPackage("dev.easel.api..")
                .should().dependOnClassesThat(com.tngtech.archunit.core.domain.JavaClass.Predicates
                        .resideInAPackage("dev.easel.worker..")
                        .and(com.tngtech.archunit.base.DescribedPredicate.not(
                                com.tngtech.archunit.core.domain.JavaClass.Predicates.belongToAnyOf(
                                        dev.easel.worker.Jobs.class, dev.easel.worker.JobIntake.class,
                                        dev.easel.worker.ModelCatalog.class,
                                        dev.easel.worker.WorkerLifecycle.class, dev.easel.worker.JobAbandonedException.class,
                                        dev.easel.worker.UnansweredJobException.class))))
                .because("an adapter per way in over one service: intake, run and answer are the worker's")
                .check(classes);
    }
}
