package dev.easel.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.easel.engine.image.RgbImage;
import dev.easel.engine.pipeline.GenerationLimits;
import dev.easel.engine.pipeline.GenerationRequest;
import dev.easel.engine.pipeline.ImageInput;
import dev.easel.engine.pipeline.MicroConditioning;
import dev.easel.engine.tokenizer.PromptMode;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class JobTest {

    static Job job(String extra) {
        return JobParserTest.accept(JobParserTest.PARSER, JobParserTest.job(extra));
    }

    @Test
    void mapsEveryFieldToTheEngineRequest() {
        GenerationPlan plan = job("'negativePrompt': 'ugly', 'width': 640, 'height': 384, 'steps': 20,"
                + " 'guidanceScale': 5.5, 'scheduler': 'ddim', 'eta': 0.25, 'seed': 99, 'numImages': 3")
                .toGenerationRequest(Optional.empty(), new SplittableRandom(1), JobDefaults.GENERIC, Optional.empty());
        GenerationRequest r = plan.request();
        assertThat(r).isEqualTo(new GenerationRequest("a cat", Optional.of("ugly"), 640, 384, 20, 5.5f, Optional.of("ddim"),
                0.25f, 99, 3, Optional.empty(), Optional.empty(), dev.easel.engine.pipeline.ClipOptions.NONE,
                PromptMode.PLAIN, MicroConditioning.DEFAULT, Optional.empty(), Optional.empty()));
        assertThat(plan.seed()).isEqualTo(99);
        assertThat(plan.seedChosen()).isFalse();
    }

    @Test
    void defaultsAreTheEnginesDefaults() {
        GenerationRequest r = job("'seed': 5").toGenerationRequest(Optional.empty(), new SplittableRandom(1), JobDefaults.GENERIC, Optional.empty()).request();
        assertThat(r).isEqualTo(GenerationRequest.builder("a cat").seed(5).build());
        assertThat(r.steps()).isEqualTo(30);
        assertThat(r.guidanceScale()).isEqualTo(7.5f);
        assertThat(r.numImages()).isEqualTo(1);
        assertThat(JobLimits.defaults().generationLimits()).isEqualTo(GenerationLimits.defaults());
    }

    @Test
    void drawsAndReportsASeedWhenAbsent() {
        Job job = job("");
        GenerationPlan a = job.toGenerationRequest(Optional.empty(), new SplittableRandom(7), JobDefaults.GENERIC, Optional.empty());
        GenerationPlan b = job.toGenerationRequest(Optional.empty(), new SplittableRandom(7), JobDefaults.GENERIC, Optional.empty());
        assertThat(a.seedChosen()).isTrue();
        assertThat(a.seed()).isEqualTo(a.request().seed()).isEqualTo(b.seed()).isBetween(0L, (1L << 32) - 1);
        assertThat(job.toGenerationRequest(Optional.empty(), new SplittableRandom(8), JobDefaults.GENERIC, Optional.empty()).seed()).isNotEqualTo(a.seed());
    }

    @Test
    void carriesTheImageInput() {
        ImageInput image = ImageInput.img2img(new RgbImage(8, 8, new byte[8 * 8 * 3]), 0.8f);
        Job job = job("'width': 8, 'height': 8, 'initImage': 's3://uploads/x.png'");
        assertThat(job.toGenerationRequest(Optional.of(image), new SplittableRandom(1), JobDefaults.GENERIC, Optional.empty()).request().image())
                .containsSame(image);
        assertThatThrownBy(() -> job.toGenerationRequest(Optional.empty(), new SplittableRandom(1), JobDefaults.GENERIC, Optional.empty()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no decoded image");
        assertThatThrownBy(() -> job("").toGenerationRequest(Optional.of(image), new SplittableRandom(1), JobDefaults.GENERIC, Optional.empty()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("has no initImage");
    }

    @Test
    void leftOutSizeStepsAndGuidanceComeFromTheModel() {
        JobDefaults xl = new JobDefaults(new dev.easel.engine.pipeline.ModelDefaults(1024, 1024, 30, 5f),
                PromptMode.WEIGHTED);
        GenerationRequest r = job("'seed': 1").toGenerationRequest(Optional.empty(), new SplittableRandom(1), xl,
                Optional.empty()).request();
        assertThat(List.of(r.width(), r.height(), r.steps())).containsExactly(1024, 1024, 30);
        assertThat(r.guidanceScale()).isEqualTo(5f);
        assertThat(r.promptSyntax()).isEqualTo(PromptMode.WEIGHTED);
        GenerationRequest own = job("'seed': 1, 'width': 768, 'steps': 4, 'guidanceScale': 0, 'promptSyntax': 'plain'")
                .toGenerationRequest(Optional.empty(), new SplittableRandom(1), xl, Optional.empty()).request();
        assertThat(List.of(own.width(), own.height(), own.steps())).containsExactly(768, 1024, 4);
        assertThat(own.guidanceScale()).isZero();
        assertThat(own.promptSyntax()).isEqualTo(PromptMode.PLAIN);
        // With an initImage and no size, the image's size.
        ImageInput image = ImageInput.img2img(new RgbImage(16, 24, new byte[16 * 24 * 3]), 0.8f);
        GenerationRequest img = job("'initImage': 's3://uploads/x.png'").toGenerationRequest(Optional.of(image),
                new SplittableRandom(1), xl, Optional.empty()).request();
        assertThat(List.of(img.width(), img.height())).containsExactly(16, 24);
    }

    @Test
    void absentAndEmptyNegativePromptsStayApart() {
        assertThat(job("").toGenerationRequest(Optional.empty(), new SplittableRandom(1), JobDefaults.GENERIC,
                Optional.empty()).request().negativePrompt()).isEmpty();
        assertThat(job("'negativePrompt': ''").toGenerationRequest(Optional.empty(), new SplittableRandom(1),
                JobDefaults.GENERIC, Optional.empty()).request().negativePrompt()).contains("");
    }

    @Test
    void mapsSdxlConditioning() {
        GenerationRequest r = job("'originalSize': {'width': 1024, 'height': 768}, 'targetSize': {'width': 640,"
                + " 'height': 512}, 'cropTopLeft': {'top': 16, 'left': 8}, 'aestheticScore': 7,"
                + " 'negativeAestheticScore': 2").toGenerationRequest(Optional.empty(), new SplittableRandom(1),
                JobDefaults.GENERIC, Optional.empty()).request();
        assertThat(r.micro()).isEqualTo(new MicroConditioning(Optional.of(new MicroConditioning.Size(1024, 768)),
                new MicroConditioning.Offset(16, 8), Optional.of(new MicroConditioning.Size(640, 512)), 7, 2));
        assertThat(job("").toGenerationRequest(Optional.empty(), new SplittableRandom(1), JobDefaults.GENERIC,
                Optional.empty()).request().micro()).isEqualTo(MicroConditioning.DEFAULT);
    }

    @Test
    void theRefinerMustBeGivenExactlyWhenTheJobNamesOne() {
        Job job = job("'refiner': {'model': 'xl-refiner'}");
        assertThat(job.refiner().orElseThrow().effectiveSwitchAt()).isEqualTo(0.8);
        assertThat(job("'refiner': {'model': 'xl-refiner', 'switchAt': 0.7}").refiner().orElseThrow()
                .effectiveSwitchAt()).isEqualTo(0.7);
        assertThatThrownBy(() -> job.toGenerationRequest(Optional.empty(), new SplittableRandom(1), JobDefaults.GENERIC,
                Optional.empty())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("names a refiner");
    }
}
