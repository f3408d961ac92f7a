package dev.easel.engine.image;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * Image I/O is pure Java: the engine runs headless and in native images, where AWT is absent.
 * A plain Jupiter test (not {@code @ArchTest}) so that it runs under this build's Surefire setup.
 */
class EngineIsHeadlessTest {

    @Test
    void engineUsesNeitherAwtNorImageIo() {
        JavaClasses engine = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.easel.engine");
        noClasses().that().resideInAPackage("dev.easel.engine..")
                .should().dependOnClassesThat().resideInAnyPackage("java.awt..", "javax.imageio..")
                .because("AWT needs a display stack and is unavailable in GraalVM native images")
                .check(engine);
    }
}
