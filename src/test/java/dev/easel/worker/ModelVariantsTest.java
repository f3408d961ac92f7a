package dev.easel.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.config.ModelsConfig;
import dev.easel.engine.onnx.EngineOptions;
import dev.easel.engine.pipeline.DiffusionPipeline;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.Rewrite;
import dev.easel.fixtures.RandomSdBundle;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** easel.models.<name>.base and .rewrite.*: variants built on a loaded base at startup. */
class ModelVariantsTest {

    private static final dev.easel.security.Tenant DEFAULT = new dev.easel.security.Tenants(false, Map.of(),
            TestWorker.BUCKET, "easel.jobs", Optional.empty()).byId(dev.easel.security.Tenants.DEFAULT).orElseThrow();

    @TempDir
    Path dir;

    @Test
    void aVariantIsBuiltFromItsBaseAndServedUnderItsOwnName() throws Exception {
        Path bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("random"));
        ModelRegistry registry = new ModelRegistry(Map.of("sd", bundle), Map.of(),
                EngineOptions.cpu().withIntraOpThreads(1), GenerationLimits.defaults());
        registry.addVariant("squares", new ModelRegistry.Variant("sd", Rewrite.none().replace("circle", "square")));
        registry.addVariant("orphan", new ModelRegistry.Variant("nope", Rewrite.none().erase("red")));
        registry.addVariant("wordless", new ModelRegistry.Variant("sd", Rewrite.none().erase("")));
        registry.loadAll();

        assertThat(registry.available()).containsExactly("sd", "squares");
        DiffusionPipeline base = registry.pipeline("sd").orElseThrow();
        DiffusionPipeline variant = registry.pipeline("squares").orElseThrow();
        assertThat(variant.model()).isNotSameAs(base.model());
        assertThat(registry.statuses().get("squares").describe()).startsWith("loaded in");
        assertThat(registry.statuses().get("orphan").describe()).isEqualTo("failed: base nope is not a configured model");
        assertThat(registry.statuses().get("wordless").describe()).startsWith("failed: ")
                .contains("easel.models.wordless.rewrite.erase: concept '' has no tokens").contains("no tokens");
        ModelCatalog.Model listed = new ModelCatalog(registry, dev.easel.contract.JobLimits.defaults()).describe().stream()
                .filter(m -> m.name().equals("squares")).findFirst().orElseThrow();
        assertThat(listed.state()).isEqualTo("loaded");
        assertThat(listed.variant()).contains(new ModelCatalog.Variant("sd", List.of("circle=square"), List.of(),
                List.of(), 0.1));

        // A job's own rewrite on a variant would start from the base's file and drop the variant's edit.
        Intake taken = new JobIntake(registry, dev.easel.contract.JobLimits.defaults(), java.time.Clock.systemUTC())
                .take(("{\"version\": 1, \"model\": \"squares\", \"prompt\": \"a cat\","
                        + " \"rewrite\": {\"erase\": [\"red\"]}}").getBytes(java.nio.charset.StandardCharsets.UTF_8),
                        new Intake.Source(Optional.empty(), Optional.empty()), DEFAULT, java.time.Instant.now());
        assertThat(taken).isInstanceOf(Intake.Rejected.class);
        assertThat(((Intake.Rejected) taken).rejection().violations().get(0).field()).isEqualTo("rewrite");
        variant.model().close();
        base.model().close();
    }

    @Test
    void aVariantOfAFailedBaseFailsSayingSo() {
        ModelRegistry registry = new ModelRegistry(Map.of("sd", dir.resolve("missing")), Map.of(),
                EngineOptions.cpu(), GenerationLimits.defaults());
        registry.addVariant("squares", new ModelRegistry.Variant("sd", Rewrite.none().replace("circle", "square")));
        registry.loadAll();

        assertThat(registry.available()).isEmpty();
        assertThat(registry.statuses().get("squares").describe()).isEqualTo("failed: base sd failed to load");
    }

    @Test
    void configurationGivesTheVariantsRewrite() {
        Map<String, ModelsConfig.ModelConfig> models = Map.of(
                "sd", model(Optional.of(Path.of("/models/sd")), Optional.empty(), edits(null, null, null, null)),
                "squares", model(Optional.empty(), Optional.of("sd"),
                        edits(List.of("circle=square", " red = blue"), List.of("cat"), List.of("triangle"), 0.5)));

        Map<String, ModelRegistry.Variant> variants = ModelRegistry.variants(() -> models);

        assertThat(variants).containsOnlyKeys("squares");
        assertThat(variants.get("squares")).isEqualTo(new ModelRegistry.Variant("sd", Rewrite.none()
                .replace("circle", "square").replace("red", "blue").erase("cat").preserve("triangle").withLambda(0.5)));
    }

    @Test
    void aLoraVariantIsBuiltFromItsBaseAndABadAdapterFailsOnlyItsVariantNamingTheKey() throws Exception {
        Path bundle = RandomSdBundle.create(RandomSdBundle.Spec.defaults()).writeTo(dir.resolve("random"));
        Path adapters = java.nio.file.Files.createDirectories(dir.resolve("loras"));
        dev.easel.fixtures.LoraFixture.writeKohya(adapters.resolve("style.safetensors"),
                dev.easel.fixtures.LoraFixture.random(dev.easel.fixtures.LoraFixture.Part.UNET,
                        bundle.resolve("unet/model.onnx"), List.of("mid_block.attentions.0.transformer_blocks.0.attn1.to_q"),
                        2, new java.util.Random(3), Optional.empty()), "F32");
        java.nio.file.Files.write(adapters.resolve("broken.safetensors"), new byte[] {1, 0, 0, 0, 0, 0, 0, 0, '{'});
        ModelRegistry registry = new ModelRegistry(Map.of("sd", bundle), Map.of(),
                EngineOptions.cpu().withIntraOpThreads(1), GenerationLimits.defaults());
        registry.useLoras(new LoraLibrary(Optional.of(adapters)));
        registry.addVariant("styled", new ModelRegistry.Variant("sd", Rewrite.none(), Map.of("style", 0.8)));
        registry.addVariant("broken", new ModelRegistry.Variant("sd", Rewrite.none(), Map.of("style", 1.0, "broken", 1.0)));
        registry.addVariant("missing", new ModelRegistry.Variant("sd", Rewrite.none(), Map.of("nope", 1.0)));
        registry.loadAll();

        assertThat(registry.available()).containsExactly("sd", "styled");
        assertThat(registry.statuses().get("broken").describe()).startsWith("failed: ")
                .contains("easel.models.broken.loras.broken: ").contains("broken.safetensors");
        assertThat(registry.statuses().get("missing").describe())
                .contains("easel.models.missing.loras.nope: no adapter file nope.safetensors");
        ModelCatalog.Model listed = new ModelCatalog(registry, dev.easel.contract.JobLimits.defaults()).describe().stream()
                .filter(m -> m.name().equals("styled")).findFirst().orElseThrow();
        assertThat(listed.variant().orElseThrow().loras()).isEqualTo(Map.of("style", 0.8));
        // No edit settings on a LoRA variant (it has no concept edit whose λ they would be).
        assertThat(listed.variant().orElseThrow().lambda()).isNull();
        assertThat(listed.variant().orElseThrow().contexts()).isEmpty();

        // A job's own loras on a variant would start from the base's files and drop the variant's.
        Intake taken = new JobIntake(registry, dev.easel.contract.JobLimits.defaults(), java.time.Clock.systemUTC())
                .take(("{\"version\": 1, \"model\": \"styled\", \"prompt\": \"a cat\","
                        + " \"loras\": [{\"name\": \"style\"}]}").getBytes(java.nio.charset.StandardCharsets.UTF_8),
                        new Intake.Source(Optional.empty(), Optional.empty()), DEFAULT, java.time.Instant.now());
        assertThat(((Intake.Rejected) taken).rejection().violations().get(0).field()).isEqualTo("loras");
        registry.pipeline("styled").orElseThrow().model().close();
        registry.pipeline("sd").orElseThrow().model().close();
    }

    @Test
    void configurationGivesTheVariantsLoras() {
        Map<String, ModelRegistry.Variant> variants = ModelRegistry.variants(() -> Map.of(
                "styled", model(Optional.empty(), Optional.of("sd"), edits(null, null, null, null),
                        Map.of("film-grain", 0.5, "anime", -1.0))));
        assertThat(variants.get("styled")).isEqualTo(new ModelRegistry.Variant("sd", Rewrite.none(),
                Map.of("anime", -1.0, "film-grain", 0.5)));
        assertThat(variants.get("styled").loras().keySet()).containsExactly("anime", "film-grain");
        assertThatThrownBy(() -> ModelRegistry.variants(() -> Map.of("v",
                model(Optional.empty(), Optional.of("sd"), edits(null, List.of("red"), null, null), Map.of("a", 1.0)))))
                .hasMessageContaining("easel.models.v: set either easel.models.v.rewrite.* or easel.models.v.loras.*");
        assertThatThrownBy(() -> ModelRegistry.variants(() -> Map.of("v",
                model(Optional.of(Path.of("x")), Optional.empty(), edits(null, null, null, null), Map.of("a", 1.0)))))
                .hasMessageContaining("easel.models.v.loras: only a variant");
        assertThatThrownBy(() -> ModelRegistry.variants(() -> Map.of("v",
                model(Optional.empty(), Optional.of("sd"), edits(null, null, null, null), Map.of("../a", 1.0)))))
                .hasMessageContaining("easel.models.v.loras.../a: not an adapter name");
        assertThatThrownBy(() -> ModelRegistry.variants(() -> Map.of("v",
                model(Optional.empty(), Optional.of("sd"), edits(null, null, null, null), Map.of("a", Double.NaN)))))
                .hasMessageContaining("easel.models.v.loras.a: the scale must be a finite number");
    }

    @Test
    void badConfigurationIsRefusedNamingTheKey() {
        assertThatThrownBy(() -> ModelRegistry.variants(() -> Map.of("v",
                model(Optional.empty(), Optional.empty(), edits(null, null, null, null)))))
                .hasMessageContaining("easel.models.v: set exactly one of easel.models.v.path");
        assertThatThrownBy(() -> ModelRegistry.variants(() -> Map.of("v",
                model(Optional.of(Path.of("x")), Optional.of("sd"), edits(null, null, null, null)))))
                .hasMessageContaining("exactly one of");
        assertThatThrownBy(() -> ModelRegistry.variants(() -> Map.of("v",
                model(Optional.of(Path.of("x")), Optional.empty(), edits(null, List.of("red"), null, null)))))
                .hasMessageContaining("easel.models.v.rewrite: only a variant");
        assertThatThrownBy(() -> ModelRegistry.variants(() -> Map.of("v",
                model(Optional.empty(), Optional.of("sd"), edits(List.of("circle"), null, null, null)))))
                .hasMessageContaining("easel.models.v.rewrite.replace: 'circle' is not source=target");
        assertThatThrownBy(() -> ModelRegistry.variants(() -> Map.of("v",
                model(Optional.empty(), Optional.of("sd"), edits(null, null, List.of("red"), null)))))
                .hasMessageContaining("easel.models.v.rewrite: a variant needs");
        assertThatThrownBy(() -> ModelRegistry.variants(() -> Map.of("v",
                model(Optional.empty(), Optional.of("sd"), edits(null, List.of("red"), null, -1.0)))))
                .hasMessageContaining("easel.models.v.rewrite.lambda:");
        assertThatThrownBy(() -> ModelRegistry.variants(() -> Map.of("v",
                model(Optional.empty(), Optional.of("sd"), edits(null, List.of("red"), null, null, "all", null)))))
                .hasMessageContaining("easel.models.v.rewrite.rows: must be through-padding or through-eos");
        assertThatThrownBy(() -> ModelRegistry.variants(() -> Map.of("v",
                model(Optional.empty(), Optional.of("sd"), edits(null, List.of("red"), null, null, null,
                        List.of("a photo"))))))
                .hasMessageContaining("easel.models.v.rewrite.contexts: each template must hold '{}'");
    }

    @Test
    void projectionsReachTheVariantsEditAndBadOnesNameTheKey() {
        Map<String, ModelRegistry.Variant> variants = ModelRegistry.variants(() -> Map.of("v",
                model(Optional.empty(), Optional.of("sd"), edits(List.of("red=blue"), null, null, null,
                        new Tail(null, null, List.of("value"), null)))));
        assertThat(variants.get("v").rewrite()).isEqualTo(Rewrite.none().replace("red", "blue")
                .withProjections(java.util.EnumSet.of(dev.easel.engine.onnx.CrossAttentionProjections.Kind.VALUE)));
        assertThat(ModelCatalog.Variant.of(variants.get("v")).projections()).containsExactly("value");
        assertThatThrownBy(() -> ModelRegistry.variants(() -> Map.of("v",
                model(Optional.empty(), Optional.of("sd"), edits(List.of("red=blue"), null, null, null,
                        new Tail(null, null, List.of("key", "query"), null))))))
                .hasMessage("easel.models.v.rewrite.projections: must name key or value, got 'query'");
        assertThatThrownBy(() -> ModelRegistry.variants(() -> Map.of("v",
                model(Optional.of(Path.of("x")), Optional.empty(), edits(null, null, null, null,
                        new Tail(null, null, List.of("value"), null))))))
                .hasMessageContaining("easel.models.v.rewrite: only a variant");
    }

    @Test
    void theUnconditionalWeightReachesTheVariantsEditAndABadOneNamesTheKey() {
        Map<String, ModelRegistry.Variant> variants = ModelRegistry.variants(() -> Map.of("v",
                model(Optional.empty(), Optional.of("sd"), edits(List.of("red=blue"), null, null, null,
                        new Tail(null, null, null, 1.0)))));
        assertThat(variants.get("v").rewrite()).isEqualTo(Rewrite.none().replace("red", "blue")
                .withPreserveUnconditional(1));
        assertThat(ModelCatalog.Variant.of(variants.get("v")).preserveUnconditional()).isEqualTo(1.0);
        assertThatThrownBy(() -> ModelRegistry.variants(() -> Map.of("v",
                model(Optional.empty(), Optional.of("sd"), edits(List.of("red=blue"), null, null, null,
                        new Tail(null, null, null, -1.0))))))
                .hasMessageStartingWith("easel.models.v.rewrite.preserve-unconditional: must be a finite number ≥ 0");
    }

    @Test
    void rowsAndContextsReachTheVariantsEdit() {
        Map<String, ModelRegistry.Variant> variants = ModelRegistry.variants(() -> Map.of("v",
                model(Optional.empty(), Optional.of("sd"), edits(List.of("red=blue"), null, null, null, "through-eos",
                        List.of("a big {} circle", "{} sky")))));
        assertThat(variants.get("v").rewrite()).isEqualTo(Rewrite.none().replace("red", "blue")
                .withRows(Rewrite.Rows.THROUGH_EOS).withContexts(List.of("a big {} circle", "{} sky")));
    }

    private static ModelsConfig.RewriteConfig edits(List<String> replace, List<String> erase, List<String> preserve,
                                                    Double lambda) {
        return edits(replace, erase, preserve, lambda, null, null);
    }

    private static ModelsConfig.RewriteConfig edits(List<String> replace, List<String> erase, List<String> preserve,
                                                    Double lambda, String rows, List<String> contexts) {
        return edits(replace, erase, rows, contexts, new Tail(preserve, lambda, null, null));
    }

    /** The rarer keys of a variant's edit. */
    private record Tail(List<String> preserve, Double lambda, List<String> projections, Double unconditional) {
    }

    private static ModelsConfig.RewriteConfig edits(List<String> replace, List<String> erase, String rows,
                                                    List<String> contexts, Tail tail) {
        List<String> preserve = tail.preserve();
        Double lambda = tail.lambda();
        return new ModelsConfig.RewriteConfig() {
            @Override
            public Optional<Double> preserveScale() {
                return Optional.empty();
            }

            @Override
            public Optional<Double> preserveUnconditional() {
                return Optional.ofNullable(tail.unconditional());
            }

            @Override
            public Optional<List<String>> projections() {
                return Optional.ofNullable(tail.projections());
            }

            @Override
            public Optional<String> rows() {
                return Optional.ofNullable(rows);
            }

            @Override
            public Optional<List<String>> contexts() {
                return Optional.ofNullable(contexts);
            }

            @Override
            public Optional<List<String>> replace() {
                return Optional.ofNullable(replace);
            }

            @Override
            public Optional<List<String>> erase() {
                return Optional.ofNullable(erase);
            }

            @Override
            public Optional<List<String>> preserve() {
                return Optional.ofNullable(preserve);
            }

            @Override
            public Optional<Double> lambda() {
                return Optional.ofNullable(lambda);
            }
        };
    }

    private static ModelsConfig.ModelConfig model(Optional<Path> path, Optional<String> base,
                                                  ModelsConfig.RewriteConfig rewrite) {
        return model(path, base, rewrite, Map.of());
    }

    private static ModelsConfig.ModelConfig model(Optional<Path> path, Optional<String> base,
                                                  ModelsConfig.RewriteConfig rewrite, Map<String, Double> loras) {
        return new ModelsConfig.ModelConfig() {
            @Override
            public Map<String, Double> loras() {
                return loras;
            }

            @Override
            public Optional<Path> path() {
                return path;
            }

            @Override
            public Optional<String> base() {
                return base;
            }

            @Override
            public ModelsConfig.RewriteConfig rewrite() {
                return rewrite;
            }

            @Override
            public Optional<Path> clip() {
                return Optional.empty();
            }

            @Override
            public Optional<String> promptSyntax() {
                return Optional.empty();
            }

            @Override
            public ModelsConfig.JobDefaultsConfig defaults() {
                return null;
            }
        };
    }
}
