"""Writes the bundle in the diffusers/Optimum ONNX layout Easel loads, the toy CLIP beside it
(clip/) and its CLIP guidance gradient graph (clip_guidance/, made by easel_demo.clip_guidance),
the fp32 state_dicts of the VAE decoder and CLIP (checkpoints/), the tokenizer golden file and
the held-out evaluation prompts for Easel's Java tests, and a report."""
import json
import os
import random
import shutil

import onnx
import torch

from . import bpe, world
from .models import CONFIG

OPSET = 14
SCHEDULER = "DDIMScheduler"
HERE = os.path.dirname(os.path.abspath(__file__))
DEMO_ROOT = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(DEMO_ROOT))
TEST_RESOURCES = os.path.join(REPO, "src", "test", "resources", "dev", "easel", "demo")


def _dump(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def _onnx(module, args, path, inputs, outputs, dynamic):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    module.eval()
    with torch.no_grad():
        torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs, dynamic_axes=dynamic,
                          opset_version=OPSET, do_constant_folding=True)
    model = onnx.load(path)
    onnx.checker.check_model(model)


class _TextEncoderGraph(torch.nn.Module):
    def __init__(self, text):
        super().__init__()
        self.text = text

    def forward(self, input_ids):
        return self.text(input_ids)


class _EncoderMean(torch.nn.Module):
    def __init__(self, enc):
        super().__init__()
        self.enc = enc

    def forward(self, sample):
        return self.enc(sample)[0]


class _ClipText(torch.nn.Module):
    def __init__(self, clip):
        super().__init__()
        self.clip = clip

    def forward(self, input_ids):
        return self.clip.text_projection(self.clip.text(input_ids)[1])


class _ClipVision(torch.nn.Module):
    def __init__(self, clip):
        super().__init__()
        self.clip = clip

    def forward(self, pixel_values):
        return self.clip.visual_projection(self.clip.vision(pixel_values))


def export_all(stages, args, tok, enc, dec, lat, text, unet, clip):
    out = os.path.abspath(args.out)
    if os.path.exists(out):
        shutil.rmtree(out)
    vocab_size = len(tok.vocab)
    scaling = round(lat["scaling_factor"], 5)
    vae_cfg = CONFIG["vae"]
    factor = 2 ** (len(vae_cfg["block_out_channels"]) - 1)
    size = world.SIZE
    latent = size // factor

    # tokenizer, scheduler, index
    shutil.copytree(stages.path("tokenizer"), os.path.join(out, "tokenizer"))
    # The bundle's default sampler is DDIM, with SD 1.5's schedule: with guidance 7.5, PNDM's
    # four-step extrapolation of the guided noise overshoots on this model (colors saturate, shapes
    # smear; README's table), DDIM's first-order step does not.
    _dump(os.path.join(out, "scheduler", "scheduler_config.json"), {
        "_class_name": SCHEDULER, "_diffusers_version": "0.24.0", "beta_end": world_beta_end(),
        "beta_schedule": "scaled_linear", "beta_start": world_beta_start(), "clip_sample": False,
        "num_train_timesteps": 1000, "prediction_type": "epsilon", "set_alpha_to_one": False,
        "steps_offset": 1, "timestep_spacing": "leading", "trained_betas": None})
    component = ["diffusers", "OnnxRuntimeModel"]
    _dump(os.path.join(out, "model_index.json"), {
        "_class_name": "OnnxStableDiffusionPipeline", "_diffusers_version": "0.24.0",
        "requires_safety_checker": False, "scheduler": ["diffusers", SCHEDULER],
        "text_encoder": component, "tokenizer": ["transformers", "CLIPTokenizer"], "unet": component,
        "vae_decoder": component, "vae_encoder": component})

    # text encoder
    t = CONFIG["text"]
    ids = torch.tensor([tok.encode_padded("a big red circle on a blue background")], dtype=torch.long)
    _onnx(_TextEncoderGraph(text), (ids,), os.path.join(out, "text_encoder", "model.onnx"), ["input_ids"],
          ["last_hidden_state", "pooler_output"],
          {"input_ids": {0: "batch"}, "last_hidden_state": {0: "batch"}, "pooler_output": {0: "batch"}})
    _dump(os.path.join(out, "text_encoder", "config.json"), {
        "architectures": ["CLIPTextModel"], "model_type": "clip_text_model", "hidden_size": t["width"],
        "intermediate_size": 4 * t["width"], "num_hidden_layers": t["layers"], "num_attention_heads": t["heads"],
        "max_position_embeddings": t["max_positions"], "vocab_size": vocab_size, "hidden_act": "gelu",
        "bos_token_id": tok.bos, "eos_token_id": tok.eos, "pad_token_id": tok.pad, "torch_dtype": "float32"})

    # UNet
    u = unet.config
    sample = torch.randn(2, u["latent_channels"], latent, latent)
    hidden = torch.randn(2, 77, t["width"])
    _onnx(unet, (sample, torch.tensor([981.0, 981.0]), hidden), os.path.join(out, "unet", "model.onnx"),
          ["sample", "timestep", "encoder_hidden_states"], ["out_sample"],
          {"sample": {0: "batch", 2: "height", 3: "width"}, "timestep": {0: "batch"},
           "encoder_hidden_states": {0: "batch"}, "out_sample": {0: "batch", 2: "height", 3: "width"}})
    _dump(os.path.join(out, "unet", "config.json"), {
        "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.24.0", "in_channels": u["latent_channels"],
        "out_channels": u["latent_channels"], "sample_size": latent, "block_out_channels": u["channels"],
        "cross_attention_dim": t["width"], "attention_head_dim": u["heads"]})

    # VAE
    vae_json = {"_class_name": "AutoencoderKL", "_diffusers_version": "0.24.0", "in_channels": 3, "out_channels": 3,
                "block_out_channels": vae_cfg["block_out_channels"], "latent_channels": vae_cfg["latent_channels"],
                "sample_size": size, "scaling_factor": scaling, "layers_per_block": 1, "norm_num_groups": 8}
    _onnx(dec, (torch.randn(1, vae_cfg["latent_channels"], latent, latent),),
          os.path.join(out, "vae_decoder", "model.onnx"), ["latent_sample"], ["sample"],
          {"latent_sample": {0: "batch", 2: "height", 3: "width"}, "sample": {0: "batch", 2: "height", 3: "width"}})
    _dump(os.path.join(out, "vae_decoder", "config.json"),
          {**vae_json, "block_out_channels": CONFIG["vae_decoder"]["block_out_channels"]})
    _onnx(_EncoderMean(enc), (torch.randn(1, 3, size, size),), os.path.join(out, "vae_encoder", "model.onnx"),
          ["sample"], ["latent_sample"],
          {"sample": {0: "batch", 2: "height", 3: "width"}, "latent_sample": {0: "batch", 2: "height", 3: "width"}})
    _dump(os.path.join(out, "vae_encoder", "config.json"), vae_json)

    # toy CLIP
    c = CONFIG["clip"]
    _onnx(_ClipText(clip), (ids,), os.path.join(out, "clip", "text_model.onnx"), ["input_ids"], ["text_embeds"],
          {"input_ids": {0: "batch"}, "text_embeds": {0: "batch"}})
    _onnx(_ClipVision(clip), (torch.randn(1, 3, c["image_size"], c["image_size"]),),
          os.path.join(out, "clip", "vision_model.onnx"), ["pixel_values"], ["image_embeds"],
          {"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}})
    from .train import CLIP_MEAN, CLIP_STD
    _dump(os.path.join(out, "clip", "preprocessor_config.json"), {
        "crop_size": {"height": c["image_size"], "width": c["image_size"]}, "do_center_crop": True,
        "do_convert_rgb": True, "do_normalize": True, "do_rescale": True, "do_resize": True,
        "feature_extractor_type": "CLIPFeatureExtractor", "image_processor_type": "CLIPImageProcessor",
        "image_mean": CLIP_MEAN, "image_std": CLIP_STD, "resample": 3, "rescale_factor": 1 / 255,
        "size": {"shortest_edge": c["image_size"]}})
    _dump(os.path.join(out, "clip", "config.json"), {
        "architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": c["projection_dim"],
        "logit_scale": round(float(clip.logit_scale.exp().clamp(max=100)), 4),
        "text_config": {"hidden_size": c["width"], "num_hidden_layers": c["layers"], "num_attention_heads": c["heads"],
                        "max_position_embeddings": 77, "vocab_size": vocab_size, "eos_token_id": tok.eos},
        "vision_config": {"image_size": c["image_size"], "num_channels": 3, "conv_channels": c["image_channels"],
                          "hidden_size": c["width"]}})

    # checkpoints for later gradient graphs; they, the report and the test files go beside the
    # bundle, and into the project (src/demo-model, src/test/resources) only when the bundle is the
    # committed one: an experiment's export must not overwrite the committed model's companions.
    beside = os.path.dirname(out)
    committed = out == os.path.join(DEMO_ROOT, "bundle")
    ck = os.path.join(beside, "checkpoints")
    os.makedirs(ck, exist_ok=True)
    torch.save(dec.state_dict(), os.path.join(ck, "vae_decoder.pt"))
    torch.save(clip.state_dict(), os.path.join(ck, "clip.pt"))
    _dump(os.path.join(ck, "config.json"), {**CONFIG, "unet": unet.config, "vocab_size": vocab_size, "vae_scaling_factor": scaling})

    # CLIP guidance gradient graph (checked against autograd first); standalone: python3 -m easel_demo.clip_guidance
    from . import clip_guidance
    clip_guidance.export(dec, clip, out, latent, size, scaling)

    write_test_files(tok, args.seed, TEST_RESOURCES if committed else os.path.join(beside, "test-resources"))
    report = measure(tok, enc, dec, text, unet, clip, args.seed)
    report["files"] = {os.path.relpath(os.path.join(d, f), out): os.path.getsize(os.path.join(d, f))
                       for d, _, fs in os.walk(out) for f in fs}
    report["bundle_bytes"] = sum(report["files"].values())
    report["checkpoint_bytes"] = {f: os.path.getsize(os.path.join(ck, f)) for f in sorted(os.listdir(ck))}
    report["scaling_factor"] = scaling
    report["timings_s"] = stages.timings
    _dump(os.path.join(beside, "report.json"), report)


def measure(tok, enc, dec, text, unet, clip, seed):
    """Parameter counts, VAE reconstruction error and CLIP retrieval on 200 held-out scenes."""
    from .train import clip_pixels, to_tensor
    count = lambda m: sum(p.numel() for p in m.parameters())
    images, captions, _ = world.dataset(200, seed + 300, "test")
    with torch.no_grad():
        x = to_tensor(images)
        rec = dec(enc(x)[0]).clamp(-1, 1)
        mae = float((rec - x).abs().mean() * 127.5)
        ids = torch.tensor([tok.encode_padded(c) for c in captions])
        te, ie = clip.encode_text(ids), clip.encode_image(clip_pixels(x))
        sims = te @ ie.t()
        same = (ids[:, None, :] == ids[None, :, :]).all(-1)
        t2i = float(same[torch.arange(len(ids)), sims.argmax(1)].float().mean())
        i2t = float(same[sims.argmax(0), torch.arange(len(ids))].float().mean())
        matched = float(sims.diagonal().mean())
        unmatched = float(sims[~same].mean())
    return {"parameters": {"text_encoder": count(text), "unet": count(unet), "vae_encoder": count(enc),
                           "vae_decoder": count(dec), "clip": count(clip)},
            "vocab_size": len(tok.vocab),
            "vae_reconstruction_mae_0_255": round(mae, 2),
            "clip_200_test_scenes": {"text_to_image_top1": round(t2i, 3), "image_to_text_top1": round(i2t, 3),
                                     "mean_cosine_matched": round(matched, 3), "mean_cosine_unmatched": round(unmatched, 3)}}


def world_beta_start():
    from .train import BETA_START
    return BETA_START


def world_beta_end():
    from .train import BETA_END
    return BETA_END


GOLDEN_EXTRA = ["", "A BIG Red   Circle, on a blue background!", "a zebra drawn in 3d; isn't it odd?",
                "a small yellow square in the top left corner, green background",
                " ".join(["a red circle to the left of a blue triangle"] * 8)]


def write_test_files(tok, seed, directory):
    rng = random.Random(seed + 100)
    captions = [world.caption(world.sample_scene(rng, "train"), rng) for _ in range(20)] + GOLDEN_EXTRA
    _dump(os.path.join(directory, "tokenizer-golden.json"),
          [{"text": c, "ids": tok.encode(c)} for c in captions])
    _dump(os.path.join(directory, "heldout-prompts.json"), heldout_prompts(seed + 200))
    _dump(os.path.join(directory, "partial-prompts.json"), partial_prompts(seed + 400))


def heldout_prompts(seed, per_kind=300):
    """Held-out evaluation prompts: unseen scenes ('test') and scenes with held-out color-shape pairs
    ('novel'); each with the attributes the checker must find."""
    rng = random.Random(seed)
    prompts = []
    for split, share, kind, n in (("test", 0.0, "single", per_kind), ("test", 1.0, "two", per_kind),
                                  ("novel", 0.0, "single", per_kind // 3)):
        for i in range(n):
            scene = world.sample_scene(rng, split, two_object_share=share)
            prompts.append({"kind": kind, "split": split, "prompt": world.caption(scene, rng),
                            "seed": rng.randrange(1 << 31), **scene})
    return prompts


# README's example prompts, each drawn with several seeds by the evaluation (partial-prompts.json).
EXAMPLE_PROMPTS = [
    ("a big red circle on a blue background",
     {"background": "blue", "objects": [{"color": "red", "shape": "circle", "size": "big"}]}),
    ("a green triangle", {"objects": [{"color": "green", "shape": "triangle"}]}),
]


def partial_prompts(seed, per_split=150, example_seeds=8):
    """Partial evaluation prompts: one-object scenes never seen in training ('test') and with held-out
    color-shape pairs ('novel'), each caption leaving out some of size, position and background;
    only what the caption names is written beside it (the checker judges nothing else, but always
    that there is exactly one object). Then README's example prompts with example_seeds seeds each."""
    rng = random.Random(seed)
    prompts = []
    for split, n in (("test", per_split), ("novel", per_split // 3)):
        for _ in range(n):
            scene = world.sample_scene(rng, split, two_object_share=0.0)
            text = world.partial_caption(scene, rng)
            o = scene["objects"][0]
            named = {"color": o["color"], "shape": o["shape"]}
            if f"{o['size']} " in text:
                named["size"] = o["size"]
            if any(p in text for p in world.POSITION_PHRASES[o["position"]]):
                named["position"] = o["position"]
            entry = {"kind": "single", "split": split, "prompt": text, "seed": rng.randrange(1 << 31),
                     "objects": [named]}
            if f"{scene['background']} background" in text:
                entry["background"] = scene["background"]
            prompts.append(entry)
    for text, named in EXAMPLE_PROMPTS:
        for _ in range(example_seeds):
            prompts.append({"kind": "single", "split": "example", "prompt": text, "seed": rng.randrange(1 << 31),
                            **named})
    return prompts
