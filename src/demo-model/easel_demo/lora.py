"""Trains a small LoRA that teaches the demo model a word it never saw: a ninth color, *pink*.

The demo world has 8 colors; "pink" never appears in a training caption (the byte-level tokenizer
still encodes it, from pieces) and no pink pixel in a training picture. This script renders scenes
of the world with pink as an object color (and some as the background), beside as many ordinary
scenes so the rest is kept, encodes them with the bundle's VAE encoder, and trains rank-8 LoRA
factors on the UNet's cross-attention projections (query, key, value, output) and the pooled
caption's first layer (text_pool.0), the bundle's weights frozen, with the training loss of train.py/finetune.py.
The result is a safetensors adapter in kohya naming (or PEFT's, --naming peft) that Easel's engine
merges at load time (`generate --lora pink.safetensors:1`, docs/rewriting.md).

    /usr/bin/python3 -m easel_demo.lora --bundle bundle --out work-lora/pink.safetensors   # from src/demo-model

Seeded and resumable as finetune.py: the rendered latents and a checkpoint every 100 steps stay in
--work. At the end the written file is read back and merged into a copy of the base UNet
(W + up·down·alpha/rank); its output must match the LoRA UNet's, or the script fails.

--prompts-out writes the evaluation prompts naming pink (lora-prompts.json, fixed seed) and needs
no bundle.
"""
import argparse
import json
import math
import os
import random
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import bpe, finetune, world
from .finetune import DEMO_ROOT, Finetune, export_encoder_mean, export_unet, onnx_weights
from .models import UNet, VaeEncoder
from .train import log, to_tensor

COLOR = "pink"
RGB = (240, 110, 180)  # 112 from purple, its nearest palette color (the palette's closest pair: 81)
PALETTE = {**world.PALETTE, COLOR: RGB}
DEFAULT_MODULES = ["cross.k", "cross.v", "cross.q", "cross.out", "text_pool.0"]


# ---------------------------------------------------------------- the world with pink

def pink_scene(rng: random.Random):
    """A training scene with pink in it: the one object (60 %), one of two objects (20 %) or the
    background (20 %); the other colors from the palette, all different."""
    colors = world.COLORS
    u = rng.random()
    if u < 0.6:
        scene = {"background": rng.choice(colors), "objects": [_single(rng, COLOR)]}
    elif u < 0.8:
        other = rng.choice(colors)
        pair = [COLOR, other] if rng.random() < 0.5 else [other, COLOR]
        scene = {"background": rng.choice([c for c in colors if c != other]), "relation": rng.choice(world.RELATIONS),
                 "objects": [{"color": c, "shape": rng.choice(world.SHAPES)} for c in pair]}
    else:
        scene = {"background": COLOR, "objects": [_single(rng, rng.choice(colors))]}
    return scene


def _single(rng, color):
    return {"color": color, "shape": rng.choice(world.SHAPES), "size": rng.choice(list(world.SIZES)),
            "position": rng.choice(list(world.POSITIONS))}


def sample_pink_scene(rng, split="train"):
    """A pink scene of a split: 'test' scenes (one in ten, by world.is_test_scene's hash) are kept
    out of training for the evaluation prompts; no scene holds a held-out color-shape pair of the
    world (the other object of a two-object or pink-background scene could)."""
    while True:
        scene = pink_scene(rng)
        if world.is_test_scene(scene) == (split == "test") and not world.has_held_out_pair(scene):
            return scene


def dataset(n, seed, pink_share):
    """n scenes (images uint8 [n, 64, 64, 3], scenes): pink ones with probability pink_share, else
    the world's ordinary training scenes."""
    rng = random.Random(seed)
    images = np.empty((n, world.SIZE, world.SIZE, 3), np.uint8)
    scenes = []
    for i in range(n):
        scene = sample_pink_scene(rng) if rng.random() < pink_share else world.sample_scene(rng, "train")
        images[i] = world.render(scene, rng, PALETTE)
        scenes.append(scene)
    return images, scenes


def evaluation_prompts(seed, n=60, partial_share=1 / 3):
    """One-object prompts with a pink object on a held-out ('test') scene, each with a seed and the
    attributes the checker must find (only those the prompt names; the format of
    heldout-prompts.json). A third are partial captions ("a pink triangle")."""
    rng = random.Random(seed)
    prompts = []
    while len(prompts) < n:
        scene = sample_pink_scene(rng, "test")
        if len(scene["objects"]) != 1 or scene["objects"][0]["color"] != COLOR:
            continue
        o = scene["objects"][0]
        partial = len(prompts) >= n - int(n * partial_share)
        text = world.partial_caption(scene, rng) if partial else world.caption(scene, rng)
        named = {"color": o["color"], "shape": o["shape"]}
        if not partial or f"{o['size']} " in text:
            named["size"] = o["size"]
        if not partial or any(p in text for p in world.POSITION_PHRASES[o["position"]]):
            named["position"] = o["position"]
        entry = {"kind": "single", "split": "pink", "prompt": text, "seed": rng.randrange(1 << 31)}
        if not partial or scene["background"] in text.replace(COLOR, ""):
            entry["background"] = scene["background"]
        entry["objects"] = [named]
        prompts.append(entry)
    return prompts


# ---------------------------------------------------------------- LoRA

class LoraLinear(nn.Module):
    """base(x) + (alpha / rank) · up(down(x)), base frozen; up starts at zero (the model unchanged)."""

    def __init__(self, base: nn.Linear, rank, alpha, gen):
        super().__init__()
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        bound = 1 / math.sqrt(base.in_features)  # PEFT's kaiming_uniform(a=√5) bound
        self.down = nn.Parameter(torch.rand(rank, base.in_features, generator=gen) * 2 * bound - bound)
        self.up = nn.Parameter(torch.zeros(base.out_features, rank))
        self.rank, self.alpha = rank, float(alpha)

    def forward(self, x):
        return self.base(x) + F.linear(F.linear(x, self.down), self.up) * (self.alpha / self.rank)


def add_lora(unet, modules, rank, alpha, seed):
    """Wraps every nn.Linear of unet whose path ends with one of modules; returns {path: LoraLinear}."""
    for p in unet.parameters():
        p.requires_grad_(False)
    gen = torch.Generator().manual_seed(seed)
    chosen = [name for name, m in unet.named_modules()
              if isinstance(m, nn.Linear) and any(name == s or name.endswith("." + s) for s in modules)]
    if not chosen:
        raise SystemExit(f"no linear layer of the UNet ends with any of {modules}")
    wrapped = {}
    for name in chosen:
        parent_name, _, attr = name.rpartition(".")
        parent = unet.get_submodule(parent_name) if parent_name else unet
        wrapped[name] = LoraLinear(getattr(parent, attr), rank, alpha, gen)
        setattr(parent, attr, wrapped[name])
    return wrapped


def lora_tensors(wrapped, naming):
    """The adapter's tensors (float32 numpy) in kohya naming (lora_unet_<path with _>.lora_down.weight,
    .lora_up.weight, .alpha) or PEFT's (unet.<path>.lora_A.weight, .lora_B.weight; PEFT keeps alpha in
    its adapter config, not the file, so alpha/rank is folded into lora_B)."""
    out = {}
    for path, m in wrapped.items():
        down = m.down.detach().numpy().astype(np.float32)
        up = m.up.detach().numpy().astype(np.float32)
        if naming == "kohya":
            key = "lora_unet_" + path.replace(".", "_")
            out[key + ".lora_down.weight"] = down
            out[key + ".lora_up.weight"] = up
            out[key + ".alpha"] = np.array(m.alpha, np.float32)
        else:
            out[f"unet.{path}.lora_A.weight"] = down
            out[f"unet.{path}.lora_B.weight"] = (up * (m.alpha / m.rank)).astype(np.float32)
    return out


def write_safetensors(path, tensors, metadata=None):
    """A safetensors file: 8-byte little-endian header length, JSON header (padded with spaces to a
    multiple of 8), then the tensors' little-endian float32 data in header order."""
    header, blobs, offset = {}, [], 0
    for name, value in tensors.items():
        data = np.ascontiguousarray(value, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(value.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path):
    """{name: float32 numpy} of a safetensors file of F32 tensors (what write_safetensors writes)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {t['dtype']}, not F32")
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype="<f4").reshape(t["shape"])
    return out


def merged_unet(base_state, config, tensors):
    """A UNet with the base weights plus each module's up·down·(alpha/rank), from the file's tensors
    (either naming): what Easel's engine computes at load time."""
    unet = UNet(**config)
    unet.load_state_dict(base_state)
    params = dict(unet.named_parameters())
    done = 0
    for name in tensors:
        if name.endswith(".lora_down.weight"):
            key = name[:-len(".lora_down.weight")]
            path = key[len("lora_unet_"):]
            down, up = tensors[name], tensors[key + ".lora_up.weight"]
            alpha = float(tensors[key + ".alpha"]) if key + ".alpha" in tensors else down.shape[0]
            weight = next(p for n, p in params.items() if n.endswith(".weight") and n[:-7].replace(".", "_") == path)
        elif name.endswith(".lora_A.weight"):
            key = name[:-len(".lora_A.weight")]
            down, up, alpha = tensors[name], tensors[key + ".lora_B.weight"], tensors[name].shape[0]
            weight = params[key[len("unet."):] + ".weight"]
        else:
            continue
        with torch.no_grad():
            weight += torch.from_numpy(up.astype(np.float64) @ down.astype(np.float64) * (alpha / down.shape[0])).float()
        done += 1
    return unet, done


# ---------------------------------------------------------------- training

class LoraTraining(Finetune):
    """Finetune's bundle, text tower and ONNX weight loading, with the pink scenes."""

    def scenes(self):
        p = self.path("lora-latents.pt")
        a = self.args
        key = {"images": a.images, "seed": a.seed, "pink_share": a.pink_share, "bundle": self.bundle}
        if os.path.exists(p):
            data = torch.load(p)
            if data.get("key") != key:
                raise SystemExit(f"{p} was rendered for {data.get('key')}, not {key}: use another --work")
            return data
        log(f"rendering {a.images} scenes, {a.pink_share:.0%} with pink")
        images, scenes = dataset(a.images, a.seed + 30, a.pink_share)
        enc = onnx_weights(VaeEncoder(**self.config["vae"]), export_encoder_mean,
                           os.path.join(self.bundle, "vae_encoder", "model.onnx")).eval()
        with torch.no_grad():
            z = torch.cat([enc(to_tensor(images[i:i + 256]))[0] for i in range(0, len(images), 256)])
        scaling = json.load(open(os.path.join(self.bundle, "vae_decoder", "config.json")))["scaling_factor"]
        data = {"latents": z * scaling, "scenes": scenes, "key": key}
        torch.save(data, p)
        log(f"latents {tuple(z.shape)}, scaled std {float((z * scaling).std()):.4f}")
        return data

    def run(self):
        a = self.args
        data = self.scenes()
        tok = bpe.read(os.path.join(self.bundle, "tokenizer"))
        text = self.text_tower()
        unet = onnx_weights(UNet(**self.config["unet"]), export_unet, os.path.join(self.bundle, "unet", "model.onnx"))
        base_state = {k: v.clone() for k, v in unet.state_dict().items()}
        wrapped = add_lora(unet, a.modules, a.rank, a.alpha if a.alpha is not None else a.rank, a.seed + 31)
        log(f"LoRA rank {a.rank} on {len(wrapped)} modules ({sum(m.down.numel() + m.up.numel() for m in wrapped.values())}"
            f" parameters): {', '.join(wrapped)}")
        train(unet, wrapped, data, tok, text, a)
        return unet.eval(), wrapped, base_state, tok, text


def train(unet, wrapped, data, tok, text, a):
    """Trains the LoRA factors; resumes from work/lora-ckpt.pt, and skips training when
    work/lora-final.pt holds a finished run of as many steps."""
    ckpt, final = os.path.join(a.work, "lora-ckpt.pt"), os.path.join(a.work, "lora-final.pt")
    if os.path.exists(final):
        s = torch.load(final)
        if s["steps"] == a.steps and set(s["lora"]) == set(wrapped):
            for path, m in wrapped.items():
                m.down.data.copy_(s["lora"][path]["down"]), m.up.data.copy_(s["lora"][path]["up"])
            log(f"trained already ({final}, {a.steps} steps)")
            return
    z_all, scenes = data["latents"], data["scenes"]
    params = [p for m in wrapped.values() for p in (m.down, m.up)]
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.01)
    gen = torch.Generator().manual_seed(a.seed + 32)
    rng = random.Random(a.seed + 33)
    start = 0
    if os.path.exists(ckpt):
        s = torch.load(ckpt)
        for path, m in wrapped.items():
            m.down.data.copy_(s["lora"][path]["down"]), m.up.data.copy_(s["lora"][path]["up"])
        opt.load_state_dict(s["opt"]), gen.set_state(s["gen"]), rng.setstate(s["rng"])
        start = s["step"]
        log(f"resuming at step {start}")
    batches = finetune.CaptionedBatches(finetune.Inputs(z_all, scenes, tok, text), a, gen, rng)
    unet.train()
    t_start = time.time()
    for step in range(start, a.steps):
        warm = min(1.0, (step + 1) / 50)
        lr = a.lr * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / a.steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        loss = finetune.x0_loss(unet, *batches.next())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % 25 == 0 or step == a.steps - 1:
            log(f"lora {step}/{a.steps} loss {loss.item():.4f} lr {lr:.2e} "
                f"{(time.time() - t_start) / (step - start + 1):.2f}s/step")
        if (step + 1) % a.checkpoint_every == 0 and step + 1 < a.steps:
            state = {path: {"down": m.down.detach().clone(), "up": m.up.detach().clone()} for path, m in wrapped.items()}
            torch.save({"lora": state, "opt": opt.state_dict(), "gen": gen.get_state(), "rng": rng.getstate(),
                        "step": step + 1}, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
    state = {path: {"down": m.down.detach().clone(), "up": m.up.detach().clone()} for path, m in wrapped.items()}
    torch.save({"lora": state, "steps": a.steps}, final)


def check_merge(unet, base_state, config, path, tok, text, seed):
    """Merges the written adapter into the base UNet by value and compares its output with the LoRA
    UNet's on noisy inputs and pink captions; fails beyond float32 rounding."""
    merged, n = merged_unet(base_state, config, read_safetensors(path))
    merged.eval()
    gen = torch.Generator().manual_seed(seed)
    captions = ["a big pink circle on a blue background", "a pink triangle", "a small red square at the top", ""]
    with torch.no_grad():
        ctx = text(torch.tensor([tok.encode_padded(c) for c in captions]))[0]
        x = torch.randn(len(captions), config["latent_channels"], 16, 16, generator=gen)
        t = torch.tensor([999.0, 700.0, 400.0, 50.0])
        want, got = unet(x, t, ctx), merged(x, t, ctx)
        base = UNet(**config)
        base.load_state_dict(base_state)
        effect = float((base.eval()(x, t, ctx) - want).abs().max())
    diff = float((want - got).abs().max())
    log(f"merge check: {n} modules from {os.path.basename(path)}; |LoRA UNet - merged| max {diff:.2e}"
        f" (the LoRA's own effect: max {effect:.2e})")
    if not diff <= 1e-4 * max(1.0, float(want.abs().max())):
        raise SystemExit(f"{path}: merged weights do not reproduce the LoRA UNet (max difference {diff})")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", default=os.path.join(DEMO_ROOT, "bundle"), help="the bundle the adapter is for")
    ap.add_argument("--out", help="the adapter file (.safetensors)")
    ap.add_argument("--work", default=os.path.join(DEMO_ROOT, "work-lora"))
    ap.add_argument("--naming", choices=["kohya", "peft"], default="kohya")
    ap.add_argument("--modules", type=lambda s: s.split(","), default=DEFAULT_MODULES,
                    help="linear layers to adapt, by path suffix (default: %(default)s)")
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=float, help="default: the rank")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--images", type=int, default=12000, help="scenes rendered for training")
    ap.add_argument("--pink-share", type=float, default=0.5, help="the share of scenes with pink in them")
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--caption-dropout", type=float, default=0.1)
    ap.add_argument("--partial-share", type=float, default=0.5,
                    help="the share of captions that leave out size, position or background")
    ap.add_argument("--checkpoint-every", type=int, default=100)
    ap.add_argument("--prompts-out", help="write the evaluation prompts naming pink (JSON) here")
    args = ap.parse_args(argv)
    if args.prompts_out:
        with open(args.prompts_out, "w") as f:
            json.dump(evaluation_prompts(args.seed + 300), f, indent=2)
            f.write("\n")
        log(f"wrote {args.prompts_out}")
        if not args.out:
            return
    if not args.out:
        ap.error("--out is required (or --prompts-out alone)")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    t0 = time.time()
    training = LoraTraining(args)
    unet, wrapped, base_state, tok, text = training.run()
    alpha = args.alpha if args.alpha is not None else args.rank
    write_safetensors(args.out, lora_tensors(wrapped, args.naming),
                      {"format": "pt", "easel_demo": "pink", "rank": args.rank, "alpha": alpha, "steps": args.steps,
                       "modules": ",".join(args.modules), "naming": args.naming})
    log(f"trained in {time.time() - t0:.0f} s; wrote {args.out} ({os.path.getsize(args.out)} bytes)")
    check_merge(unet, base_state, training.config["unet"], args.out, tok, text, args.seed + 34)


if __name__ == "__main__":
    main()
