package dev.easel.contract;

import static dev.easel.contract.JobParserTest.PARSER;
import static dev.easel.contract.JobParserTest.accept;
import static dev.easel.contract.JobParserTest.job;
import static dev.easel.contract.JobParserTest.reject;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.easel.engine.pipeline.ClipOptions;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The CLIP fields of the job contract: mapping to the engine and every rule naming field and limit. */
class ClipFieldsTest {

    private static final String IMAGE = "'initImage': 's3://inputs/a.png'";

    @Test
    void mapsToTheEngineOptions() {
        Job job = accept(PARSER, job("'clipScore': true, 'numImages': 2, 'rerank': {'candidates': 6},"
                + " 'verifier': {'branches': 3, 'atSteps': [2, 5]}, 'clipGuidanceScale': 120, " + IMAGE + ","
                + " 'edit': {'source': 'a cat', 'target': 'a dog'}"));
        ClipOptions clip = job.toGenerationRequest(Optional.of(dev.easel.engine.pipeline.ImageInput.img2img(
                new dev.easel.engine.image.RgbImage(8, 8, new byte[192]), 0.8f)), new SplittableRandom(1), JobDefaults.GENERIC, Optional.empty()).request().clip();
        assertThat(clip.score()).isTrue();
        assertThat(clip.rerankCandidates()).hasValue(6);
        assertThat(clip.verifier()).hasValue(new ClipOptions.Verifier(3, new ClipOptions.At(List.of(2, 5))));
        assertThat(clip.guidanceScale()).hasValue(120);
        assertThat(clip.edit()).hasValue(new ClipOptions.Edit("a cat", "a dog"));
        assertThat(accept(PARSER, job("")).usesClip()).isFalse();
        assertThat(accept(PARSER, job("'verifier': {'branches': 2, 'every': 4}")).clipOptions().verifier().orElseThrow()
                .steps()).isEqualTo(new ClipOptions.Every(4));
    }

    @Test
    void rulesNameFieldAndLimit() {
        assertThat(reject(PARSER, job("'rerank': {'candidates': 17}")).violations())
                .extracting(Violation::field, Violation::limit).containsExactly(tuple("rerank.candidates", "≤ 16"));
        assertThat(reject(PARSER, job("'numImages': 4, 'rerank': {'candidates': 3}")).violations())
                .extracting(Violation::field, Violation::limit).containsExactly(tuple("rerank.candidates", "≥ numImages"));
        assertThat(reject(PARSER, job("'clipGuidanceScale': 2000")).violations())
                .extracting(Violation::field, Violation::limit).containsExactly(tuple("clipGuidanceScale", "≤ 1000"));
        assertThat(reject(PARSER, job("'verifier': {'branches': 2}")).violations())
                .extracting(Violation::field, Violation::limit)
                .containsExactly(tuple("verifier", "exactly one of every, atSteps"));
        assertThat(reject(PARSER, job("'steps': 10, 'verifier': {'branches': 2, 'atSteps': [3, 10]}")).violations())
                .extracting(Violation::field, Violation::limit).containsExactly(tuple("verifier.atSteps", "each 1 … 9 (the"
                        + " last step cannot branch)"));
        // With an initImage the run is floor(steps × strength) steps long.
        assertThat(reject(PARSER, job("'steps': 10, 'strength': 0.5, " + IMAGE + ", 'verifier': {'branches': 2,"
                + " 'atSteps': [5]}")).violations()).extracting(Violation::field).containsExactly("verifier.atSteps");
        assertThat(reject(PARSER, job("'steps': 50, 'verifier': {'branches': 4, 'every': 2}")).violations())
                .extracting(Violation::field, Violation::limit).containsExactly(tuple("verifier", "≤ 64"));
        assertThat(reject(PARSER, job("'verifier': {'branches': 1, 'every': 2}")).violations())
                .extracting(Violation::field).containsExactly("verifier.branches");
        assertThat(reject(PARSER, job("'edit': {'source': 'a cat', 'target': 'a dog'}")).violations())
                .extracting(Violation::field, Violation::limit)
                .containsExactly(tuple("edit", "only with initImage"), tuple("edit", "with rerank or verifier"));
        assertThat(reject(PARSER, job("'edit': {'source': 'a cat'}")).violations()).extracting(Violation::field)
                .containsExactly("edit.target");
        assertThat(reject(PARSER, job("'rerank': {'candidates': 4, 'keep': 2}")).violations())
                .extracting(Violation::field).containsExactly("rerank.keep");
    }

    @Test
    void aModelWithoutClipRejectsEveryClipField() {
        JobParser noClip = PARSER.withParts(new ModelParts(false, false, true));
        assertThat(reject(noClip, job("'clipScore': true, 'rerank': {'candidates': 2}, 'clipGuidanceScale': 5"))
                .violations()).extracting(Violation::field).containsExactly("clipScore", "rerank", "clipGuidanceScale");
        accept(noClip, job("'clipScore': false"));
        accept(PARSER.withParts(new ModelParts(true, false, true)), job("'clipScore': true"));
    }

    @Test
    void aModelWithClipButNoGuidanceGraphRejectsClipGuidanceScaleOnly() {
        JobParser noGuidance = PARSER.withParts(new ModelParts(true, false, true));
        assertThat(reject(noGuidance, job("'clipScore': true, 'clipGuidanceScale': 5")).violations())
                .extracting(Violation::field, Violation::limit)
                .containsExactly(tuple("clipGuidanceScale", "a model with clip_guidance/model.onnx (docs/clip.md)"));
        accept(PARSER.withParts(new ModelParts(true, true, true)), job("'clipGuidanceScale': 5"));
    }

    @Test
    void aModelWithoutVaeEncoderRejectsAnInitImage() {
        JobParser noEncoder = PARSER.withParts(new ModelParts(true, true, false));
        assertThat(reject(noEncoder, job(IMAGE + ", 'strength': 0.5")).violations())
                .extracting(Violation::field, Violation::problem)
                .containsExactly(tuple("initImage", "needs a VAE encoder; model \"sd15\" has none"));
        accept(PARSER.withParts(new ModelParts(true, true, true)), job(IMAGE + ", 'strength': 0.5"));
        accept(noEncoder, job(""));
    }
}
