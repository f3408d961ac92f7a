package dev.easel.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/** The engine is a plain Java library: no Quarkus, Jakarta, CDI or MicroProfile types. */
@AnalyzeClasses(packages = "dev.easel", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

    @ArchTest
    static final ArchRule engineIsPlainJava = noClasses()
            .that().resideInAPackage("dev.easel.engine..")
            .should().dependOnClassesThat().resideInAnyPackage(
                    "io.quarkus..", "jakarta..", "javax.inject..", "javax.enterprise..",
                    "org.eclipse.microprofile..", "io.smallrye..", "io.vertx..", "picocli..")
            .because("the engine must be usable and testable as a plain library");

    @ArchTest
    static final ArchRule engineDoesNotReachOutward = noClasses()
            .that().resideInAPackage("dev.easel.engine..")
            .should().dependOnClassesThat().resideInAnyPackage(
                    "dev.easel.cli..", "dev.easel.job..", "dev.easel.messaging..", "dev.easel.store..",
                    "dev.easel.notify..", "dev.easel.api..", "dev.easel.config..")
            .because("dependencies point inward: the worker uses the engine, never the reverse");
}
