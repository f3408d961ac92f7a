package dev.easel.engine.pipeline;

import dev.easel.engine.onnx.TextEncoder;
import dev.easel.engine.onnx.UnetConditioning;
import dev.easel.engine.tokenizer.ClipTokenizer;
import dev.easel.engine.tokenizer.PromptChunks;
import dev.easel.engine.tokenizer.PromptMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Prompt and negative prompt → what the UNet is conditioned on, for every bundle family:
 * <ul>
 *   <li>SD 1.x/2.x: the encoder's {@code last_hidden_state}.
 *   <li>SDXL: both encoders' penultimate hidden states side by side (CLIP-L ‖ OpenCLIP-bigG), the
 *       second encoder's pooled {@code text_embeds}, and the size/crop {@code time_ids}; with
 *       {@code force_zeros_for_empty_prompt}, a job with no negative prompt at all gets zeros for
 *       the negative branch (an explicit "" is encoded), as diffusers.
 *   <li>SDXL refiner: its one (OpenCLIP) encoder, and aesthetic-score time ids.
 * </ul>
 * Weighted prompts ({@link PromptMode#WEIGHTED}) are encoded in chunks of 75 tokens, each chunk's
 * states scaled by its tokens' weights ({@link PromptWeights}) and the chunks concatenated along
 * the sequence, as AUTOMATIC1111 does; the pooled embedding is the first chunk's.
 */
final class TextConditioner {

    private final StableDiffusionModel model;

    TextConditioner(StableDiffusionModel model) {
        this.model = model;
    }

    /** Rows in UNet batch order: n copies of the negative branch (when guided), then n of the prompt. */
    UnetConditioning condition(GenerationRequest request, DiffusionPipeline.JobShape shape, StageTimings.Clock clock) {
        int branches = shape.branches();
        List<ClipTokenizer> tokenizers = model.config().tokenizers();
        List<TextEncoder> encoders = model.textEncoders();
        long t0 = System.nanoTime();
        List<Branches> chunks = new ArrayList<>();
        int count = 1;
        String longest = "prompt";
        for (ClipTokenizer tokenizer : tokenizers) {
            Branches b = Branches.encode(tokenizer, request, branches);
            b.checkWeights();
            chunks.add(b);
            if (b.count() > count) {
                count = b.count();
                longest = b.longestField();
            }
        }
        int sequence = tokenizers.get(0).maxLength();
        checkSequence(longest, count, sequence);
        clock.tokenize += System.nanoTime() - t0;

        long t1 = System.nanoTime();
        boolean xl = model.xl();
        TextEncoder.Layer layer = xl ? TextEncoder.Layer.PENULTIMATE : TextEncoder.Layer.LAST;
        List<float[]> states = new ArrayList<>();
        List<Integer> widths = new ArrayList<>();
        Optional<float[]> pooled = Optional.empty();
        for (int s = 0; s < encoders.size(); s++) {
            Branches stage = chunks.get(s).padTo(count);
            boolean pooling = xl && s == encoders.size() - 1;
            float[] joined = null;
            int width = 0;
            for (int c = 0; c < count; c++) {
                TextEncoder.Encoding e = encoders.get(s).encode(stage.ids(c),
                        new TextEncoder.Request(branches, sequence, layer, pooling && c == 0));
                width = e.width();
                if (joined == null) {
                    joined = new float[branches * count * sequence * width];
                }
                for (int b = 0; b < branches; b++) {
                    int from = b * sequence * width;
                    if (request.promptSyntax() == PromptMode.WEIGHTED) {
                        PromptWeights.emphasize(e.hidden(), from, width, stage.weights(b, c));
                    }
                    System.arraycopy(e.hidden(), from, joined, (b * count + c) * sequence * width, sequence * width);
                }
                if (e.pooled().isPresent()) {
                    pooled = e.pooled();
                }
            }
            states.add(joined);
            widths.add(width);
        }
        clock.textEncode += System.nanoTime() - t1;

        int width = widths.stream().mapToInt(Integer::intValue).sum();
        int rows = count * sequence;
        float[] distinct = concatenate(states, widths, branches * rows);
        if (xl && branches == 2 && request.negativePrompt().isEmpty()
                && model.config().modelIndex().forceZerosForEmptyPrompt()) {
            java.util.Arrays.fill(distinct, 0, rows * width, 0f);
            pooled.ifPresent(p -> java.util.Arrays.fill(p, 0, p.length / 2, 0f));
        }
        float[] hidden = expand(distinct, shape);
        if (!xl) {
            return UnetConditioning.text(hidden, rows, width);
        }
        float[] timeIds = timeIds(request, branches);
        return new UnetConditioning(hidden, rows, width, pooled.map(p -> expand(p, shape)),
                Optional.of(expand(timeIds, shape)));
    }

    /**
     * A weighted prompt longer than one chunk needs a UNet whose text sequence is not fixed at 77,
     * and stays within {@link GenerationLimits#MAX_PROMPT_CHUNKS} chunks of finite weights.
     */
    private void checkSequence(String field, int chunks, int sequence) {
        if (chunks > GenerationLimits.MAX_PROMPT_CHUNKS) {
            throw new InvalidRequestException(field, "spans " + chunks + " chunks of " + (sequence - 2) + " tokens"
                    + " (BREAK starts a chunk); at most " + GenerationLimits.MAX_PROMPT_CHUNKS + " are allowed");
        }
        if (!model.takesPromptChunks(chunks)) {
            int fixed = model.unet().textSequence();
            throw new InvalidRequestException(field, "needs " + chunks + " chunks of " + (sequence - 2)
                    + " tokens, but model '" + model.name() + "' takes exactly " + fixed + " text tokens (its UNet's"
                    + " encoder_hidden_states sequence is fixed); shorten the prompt and negativePrompt to "
                    + (sequence - 2) + " tokens");
        }
    }

    /** Per-encoder states [branches, rows, width_i] → [branches, rows, Σ width_i], side by side. */
    private static float[] concatenate(List<float[]> states, List<Integer> widths, int tokens) {
        if (states.size() == 1) {
            return states.get(0);
        }
        int width = widths.stream().mapToInt(Integer::intValue).sum();
        float[] out = new float[tokens * width];
        int offset = 0;
        for (int s = 0; s < states.size(); s++) {
            int w = widths.get(s);
            float[] src = states.get(s);
            for (int t = 0; t < tokens; t++) {
                System.arraycopy(src, t * w, out, t * width + offset, w);
            }
            offset += w;
        }
        return out;
    }

    /** One row per branch → one row per UNet batch entry (n images per branch). */
    private static float[] expand(float[] perBranch, DiffusionPipeline.JobShape shape) {
        int row = perBranch.length / shape.branches();
        float[] out = new float[shape.unetBatch() * row];
        for (int b = 0; b < shape.unetBatch(); b++) {
            System.arraycopy(perBranch, (b / shape.images()) * row, out, b * row, row);
        }
        return out;
    }

    private float[] timeIds(GenerationRequest request, int branches) {
        boolean aesthetic = model.aestheticTimeIds();
        MicroConditioning.Size output = new MicroConditioning.Size(request.width(), request.height());
        int width = aesthetic ? 5 : 6;
        float[] ids = new float[branches * width];
        for (int b = 0; b < branches; b++) {
            double[] row = request.micro().timeIds(output, aesthetic, branches == 2 && b == 0);
            for (int k = 0; k < width; k++) {
                ids[b * width + k] = (float) row[k];
            }
        }
        return ids;
    }

    /** One tokenizer's chunks of the negative prompt (when guided) and the prompt. */
    private record Branches(List<PromptChunks> branches) {

        static Branches encode(ClipTokenizer tokenizer, GenerationRequest request, int count) {
            List<PromptChunks> list = new ArrayList<>(count);
            if (count == 2) {
                list.add(PromptChunks.encode(tokenizer, request.negativePrompt().orElse(""), request.promptSyntax()));
            }
            list.add(PromptChunks.encode(tokenizer, request.prompt(), request.promptSyntax()));
            return new Branches(List.copyOf(list));
        }

        int count() {
            return branches.stream().mapToInt(PromptChunks::count).max().orElse(1);
        }

        /** The field whose text spans the most chunks: the prompt's unless the negative prompt's spans more. */
        String longestField() {
            return branches.size() == 2 && branches.get(0).count() > branches.get(1).count() ? "negativePrompt" : "prompt";
        }

        Branches padTo(int chunks) {
            return new Branches(branches.stream().map(p -> p.padTo(chunks)).toList());
        }

        /** Chunk {@code c} of every branch, [branches, sequence] row-major. */
        int[] ids(int c) {
            int length = branches.get(0).ids(c).length;
            int[] ids = new int[branches.size() * length];
            for (int b = 0; b < branches.size(); b++) {
                System.arraycopy(branches.get(b).ids(c), 0, ids, b * length, length);
            }
            return ids;
        }

        float[] weights(int branch, int c) {
            return branches.get(branch).weights(c);
        }

        /**
         * A weight of 400 nines overflows; one of 3e38 is finite, but scaling hidden states by it
         * overflows them: either way the pictures would be NaN, stored as black. Real weights are
         * near 1 (A1111's brackets: 1.1 per level), so the bound is far above any in use.
         */
        void checkWeights() {
            for (int b = 0; b < branches.size(); b++) {
                PromptChunks chunks = branches.get(b);
                for (int c = 0; c < chunks.count(); c++) {
                    for (float w : chunks.weights(c)) {
                        if (!Float.isFinite(w) || Math.abs(w) > GenerationLimits.MAX_PROMPT_WEIGHT) {
                            String field = branches.size() == 2 && b == 0 ? "negativePrompt" : "prompt";
                            throw new InvalidRequestException(field, "has an attention weight "
                                    + (Float.isFinite(w) ? "of " + w : "that is not a finite number")
                                    + " (weights must be finite and within ±" + GenerationLimits.MAX_PROMPT_WEIGHT
                                    + ", e.g. (word:1.3))");
                        }
                    }
                }
            }
        }
    }
}
