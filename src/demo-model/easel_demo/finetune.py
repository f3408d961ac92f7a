"""Teaches a trained demo model partial prompts: captions that leave out the size, the position or
the background while the picture keeps them ("a green triangle", "a big red circle on a blue
background"), so that such a prompt draws exactly one object of that color and shape.

It continues the committed bundle's UNet (read back from its ONNX file) on the same training
scenes, with half of the captions partial, and writes the UNet back into the bundle; every other
file of the bundle stays as it is (the text encoder is frozen, as in the first training).

    /usr/bin/python3 -m easel_demo.finetune --bundle bundle --work work-finetune   # from src/demo-model

Stages are skipped when their result is in --work, and the UNet resumes from its checkpoint, as
in train.py. The weights come back from ONNX by value: a fresh UNet with seeded random weights is
exported by the same code as the bundle's, and each initializer of that export is matched to the
parameter it holds (names are lost for folded norms and transposed matmuls); the bundle's
initializer at the same name then fills that parameter.
"""
import argparse
import json
import math
import os
import random
import tempfile
import time

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from . import bpe, world
from .models import CONFIG, TRAIN_STEPS, ToyClip, UNet, VaeEncoder, alphas_cumprod
from .train import log, to_tensor

DEMO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def onnx_weights(module, export_fn, onnx_path):
    """The parameters of module filled from the ONNX file onnx_path, which export_fn(module, path)
    wrote from a module of the same architecture. Each parameter is found by value in a fresh
    export of module with marker weights: equal, transposed (MatMul weights) or reshaped (norms)."""
    gen = torch.Generator().manual_seed(0)
    params = dict(module.named_parameters())
    with torch.no_grad():
        for p in params.values():
            p.copy_(torch.randn(p.shape, generator=gen))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "marker.onnx")
        export_fn(module, path)
        marker = {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    target = {i.name: numpy_helper.to_array(i) for i in onnx.load(onnx_path).graph.initializer}
    if set(marker) != set(target):
        raise SystemExit(f"{onnx_path}: not the graph this code exports (initializers differ)")
    by_value = {}
    for name, value in marker.items():
        by_value.setdefault((value.size, float(value.max())), []).append(name)
    filled = set()
    with torch.no_grad():
        for pname, p in params.items():
            ref = p.detach().numpy()
            key = (ref.size, float(ref.max()))
            for name in by_value.get(key, []):
                m = marker[name]
                if m.shape == ref.shape and np.array_equal(m, ref):
                    p.copy_(torch.from_numpy(target[name].copy()))
                elif m.ndim == 2 and m.T.shape == ref.shape and np.array_equal(m.T, ref):
                    p.copy_(torch.from_numpy(target[name].T.copy()))
                elif m.size == ref.size and np.array_equal(m.reshape(ref.shape), ref):
                    p.copy_(torch.from_numpy(target[name].reshape(ref.shape).copy()))
                else:
                    continue
                filled.add(pname)
                break
    missing = sorted(set(params) - filled)
    if missing:
        raise SystemExit(f"{onnx_path}: no initializer found for {missing[:5]} ({len(missing)} in all)")
    return module


def export_unet(unet, path):
    from .export import _onnx
    latent, width = 16, CONFIG["text"]["width"]
    _onnx(unet, (torch.randn(2, unet.config["latent_channels"], latent, latent), torch.tensor([981.0, 981.0]),
                 torch.randn(2, 77, width)), path,
          ["sample", "timestep", "encoder_hidden_states"], ["out_sample"],
          {"sample": {0: "batch", 2: "height", 3: "width"}, "timestep": {0: "batch"},
           "encoder_hidden_states": {0: "batch"}, "out_sample": {0: "batch", 2: "height", 3: "width"}})


def export_encoder_mean(enc, path):
    from .export import _EncoderMean, _onnx
    _onnx(_EncoderMean(enc), (torch.randn(1, 3, world.SIZE, world.SIZE),), path, ["sample"], ["latent_sample"],
          {"sample": {0: "batch", 2: "height", 3: "width"}, "latent_sample": {0: "batch", 2: "height", 3: "width"}})


class Finetune:
    def __init__(self, args):
        self.args = args
        os.makedirs(args.work, exist_ok=True)
        self.bundle = os.path.abspath(args.bundle)
        self.config = json.load(open(os.path.join(DEMO_ROOT, "checkpoints", "config.json")))

    def path(self, name):
        return os.path.join(self.args.work, name)

    def scenes(self):
        """The training scenes of train.py (same seed, same order) and their VAE latents."""
        p = self.path("latents.pt")
        taught = frozenset(self.args.teach_pair)
        if os.path.exists(p):
            data = torch.load(p)
            # The cached scenes show which held-out pairs they were drawn with; another --teach-pair
            # in the same --work would otherwise train on them silently.
            drawn = {(o["color"], o["shape"]) for s in data["scenes"] for o in s["objects"]} & world.HELD_OUT_PAIRS
            if drawn != taught:
                raise SystemExit(f"{p}: its scenes teach {sorted(drawn) or 'no held-out pair'}, this run "
                                 f"{sorted(taught) or 'none'} (--teach-pair); use another --work")
            return data
        log(f"rendering {self.args.train_images} training scenes")
        if taught:
            log(f"teaching the held-out pairs {sorted(taught)}")
        images, _, scenes = world.dataset(self.args.train_images, self.args.seed, "train", taught)
        enc = onnx_weights(VaeEncoder(**self.config["vae"]), export_encoder_mean,
                           os.path.join(self.bundle, "vae_encoder", "model.onnx")).eval()
        with torch.no_grad():
            z = torch.cat([enc(to_tensor(images[i:i + 256]))[0] for i in range(0, len(images), 256)])
        scaling = json.load(open(os.path.join(self.bundle, "vae_decoder", "config.json")))["scaling_factor"]
        data = {"latents": z * scaling, "scenes": scenes}
        torch.save(data, p)
        log(f"latents {tuple(z.shape)}, scaled std {float((z * scaling).std()):.4f}")
        return data

    def text_tower(self):
        cfg = {**CONFIG["clip"], "vocab_size": self.config["vocab_size"]}
        clip = ToyClip(**cfg)
        clip.load_state_dict(torch.load(os.path.join(DEMO_ROOT, "checkpoints", "clip.pt"), map_location="cpu"))
        text = clip.text.eval()
        for p in text.parameters():
            p.requires_grad_(False)
        return text

    def run(self):
        a = self.args
        data = self.scenes()
        tok = bpe.read(os.path.join(self.bundle, "tokenizer"))
        final = self.path("finetune.pt")
        if os.path.exists(final):
            done = torch.load(final)
            unet = UNet(**done["config"])
            unet.load_state_dict(done["unet_ema"])
            return unet
        unet = onnx_weights(UNet(**self.config["unet"]), export_unet, os.path.join(self.bundle, "unet", "model.onnx"))
        if a.deepen:
            unet = deepened(unet, a.deepen)
        return teach_partial(unet, Inputs(data["latents"], data["scenes"], tok, self.text_tower()),
                             Recipe.of(a), a.work)


def deepened(unet, blocks):
    """unet with `blocks` more ResNet blocks at full latent resolution (UNet's extra_full_res_blocks),
    each starting as the identity (its last convolution zero), so the fine-tune starts from the same
    function and the new capacity grows from there (Net2Net's function-preserving growth)."""
    config = {**unet.config, "extra_full_res_blocks": unet.config.get("extra_full_res_blocks", 0) + blocks}
    deeper = UNet(**config)
    missing, unexpected = deeper.load_state_dict(unet.state_dict(), strict=False)
    if unexpected or any(not k.startswith("u0_extra.") for k in missing):
        raise SystemExit(f"cannot deepen this UNet: missing {missing}, unexpected {unexpected}")
    with torch.no_grad():
        for block in list(deeper.u0_extra)[-blocks:]:
            block.conv2.weight.zero_()
            block.conv2.bias.zero_()
    return deeper


class Inputs:
    """What the partial-caption training reads: scaled latents [N, 4, 16, 16], their scenes, the
    tokenizer and the frozen text tower."""

    def __init__(self, latents, scenes, tok, text):
        self.latents, self.scenes, self.tok, self.text = latents, scenes, tok, text


class Recipe:
    """Steps, batch, learning rate, EMA decay, caption dropout, share of partial captions, checkpoint
    interval and seed of the partial-caption training (this file's and train.py's "partial" stage);
    the share of each batch drawn from the hard scenes, which scenes are hard (HARD_SCENES) and the
    share of their captions that name the size but not the place (world.unplaced_caption)."""

    def __init__(self, steps, batch, lr, ema, caption_dropout, partial_share, checkpoint_every, seed, hard_share=0.0,
                 hard_scenes="corners", unplaced_share=0.0):
        self.steps, self.batch, self.lr, self.ema = steps, batch, lr, ema
        self.caption_dropout, self.partial_share = caption_dropout, partial_share
        self.checkpoint_every, self.seed, self.hard_share = checkpoint_every, seed, hard_share
        self.hard_scenes, self.unplaced_share = hard_scenes, unplaced_share

    @staticmethod
    def of(a):
        return Recipe(a.steps, a.batch, a.lr, a.ema, a.caption_dropout, a.partial_share, a.checkpoint_every, a.seed,
                      a.hard_share, a.hard_scenes, a.unplaced_share)


class CaptionedBatches:
    """Training batches (x0, t, noise, ctx) of scaled latents with their captions' frozen text
    states: random scenes, timesteps and noise from gen, captions (full, or partial with the
    recipe's share) from rng, the empty caption for a share of caption_dropout."""

    def __init__(self, inputs, r, gen, rng):
        self.inputs, self.r, self.gen, self.rng = inputs, r, gen, rng
        with torch.no_grad():
            self.ctx_empty = inputs.text(torch.tensor([inputs.tok.encode_padded("")]))[0][0]
        self.ids = {}
        self.hard_share = getattr(r, "hard_share", 0.0)  # lora.py's recipe has none
        self.unplaced_share = getattr(r, "unplaced_share", 0.0)
        hard = HARD_SCENES[getattr(r, "hard_scenes", "corners")]
        self.hard = torch.tensor([i for i, s in enumerate(inputs.scenes) if hard(s)])

    def next(self):
        z_all, r, gen = self.inputs.latents, self.r, self.gen
        idx = torch.randint(0, len(z_all), (r.batch,), generator=gen)
        n = 0
        if self.hard_share > 0:
            n = int(round(r.batch * self.hard_share))
            idx[:n] = self.hard[torch.randint(0, len(self.hard), (n,), generator=gen)]
        drop = torch.rand(r.batch, generator=gen) < r.caption_dropout
        t = torch.randint(0, TRAIN_STEPS, (r.batch,), generator=gen)
        noise = torch.randn((r.batch,) + tuple(z_all.shape[1:]), generator=gen)
        captions = [self.caption(i, k < n) for k, i in enumerate(idx.tolist())]
        ids = torch.tensor([self.ids.setdefault(c, self.inputs.tok.encode_padded(c)) for c in captions])
        with torch.no_grad():
            ctx = torch.where(drop.view(-1, 1, 1), self.ctx_empty, self.inputs.text(ids)[0])
        return z_all[idx], t, noise, ctx

    def caption(self, i, hard):
        scene = self.inputs.scenes[i]
        # Drawn only when asked for, so that recipes without it keep their captions.
        if hard and self.unplaced_share > 0 and self.rng.random() < self.unplaced_share:
            return world.unplaced_caption(scene, self.rng)
        return world.training_caption(scene, self.rng, self.r.partial_share)


def is_small(scene):
    """One small object of any shape: the scenes whose partial prompts the demo model drew worst
    when the prompt names no place (model card, "What fails")."""
    objs = scene["objects"]
    return len(objs) == 1 and objs[0]["size"] == "small"


def is_hard(scene):
    """The scenes the demo model draws worst: one small square or triangle. Their corners span a
    latent pixel or two and come out round (small squares under partial prompts: 3 of 11 read as
    squares, docs in the model card), so --hard-share draws a part of each batch from them."""
    return is_small(scene) and scene["objects"][0]["shape"] != "circle"


HARD_SCENES = {"corners": is_hard, "small": is_small}


_AC = alphas_cumprod()
_SNR = _AC / (1 - _AC)


def x0_loss(unet, x0, t, noise, ctx):
    """train.py's loss: the implied picture's error, SNR clamped to [1, 5] (the UNet returns epsilon)."""
    a = _AC[t].view(-1, 1, 1, 1)
    eps = unet(a.sqrt() * x0 + (1 - a).sqrt() * noise, t.float(), ctx)
    w = (_SNR[t].clamp(min=1.0, max=5.0) / _SNR[t]).view(-1, 1, 1, 1)
    return (w * (eps - noise).pow(2)).mean()


def teach_partial(unet, inputs, r, work):
    """Continues unet on the training scenes with half of the captions partial; returns its EMA.
    Resumes from work/finetune-ckpt.pt; writes work/finetune.pt at the end."""
    ckpt, final = os.path.join(work, "finetune-ckpt.pt"), os.path.join(work, "finetune.pt")
    text = inputs.text.eval()
    for p in text.parameters():
        p.requires_grad_(False)
    ema = UNet(**unet.config)
    ema.load_state_dict(unet.state_dict())
    params, ema_params = list(unet.parameters()), list(ema.parameters())
    opt = torch.optim.AdamW(params, lr=r.lr, weight_decay=0.01)
    gen = torch.Generator().manual_seed(r.seed + 7)
    rng = random.Random(r.seed + 8)
    start = 0
    if os.path.exists(ckpt):
        s = torch.load(ckpt)
        unet.load_state_dict(s["unet"]), ema.load_state_dict(s["unet_ema"]), opt.load_state_dict(s["opt"])
        gen.set_state(s["gen"]), rng.setstate(s["rng"])
        start = s["step"]
        log(f"resuming at step {start}")
    batches = CaptionedBatches(inputs, r, gen, rng)
    t_start = time.time()
    for step in range(start, r.steps):
        warm = min(1.0, (step + 1) / 50)
        lr = r.lr * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / r.steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        loss = x0_loss(unet, *batches.next())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        with torch.no_grad():
            torch._foreach_mul_(ema_params, r.ema)
            torch._foreach_add_(ema_params, params, alpha=1 - r.ema)
        if step % 25 == 0 or step == r.steps - 1:
            log(f"finetune {step}/{r.steps} loss {loss.item():.4f} lr {lr:.2e} "
                f"{(time.time() - t_start) / (step - start + 1):.2f}s/step")
        if (step + 1) % r.checkpoint_every == 0 and step + 1 < r.steps:
            torch.save({"unet": unet.state_dict(), "unet_ema": ema.state_dict(), "opt": opt.state_dict(),
                        "gen": gen.get_state(), "rng": rng.getstate(), "step": step + 1}, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
    torch.save({"unet_ema": ema.state_dict(), "config": ema.config}, final)
    return ema


def held_out_pair(text):
    """COLOR:SHAPE, one of world.HELD_OUT_PAIRS (argparse type of --teach-pair)."""
    pair = tuple(text.split(":", 1))
    if pair not in world.HELD_OUT_PAIRS:
        known = ", ".join(f"{c}:{s}" for c, s in sorted(world.HELD_OUT_PAIRS))
        raise argparse.ArgumentTypeError(f"{text!r} is not a held-out pair ({known})")
    return pair


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", default=os.path.join(DEMO_ROOT, "bundle"),
                    help="the bundle whose UNet is continued; its unet/model.onnx is replaced at the end")
    ap.add_argument("--work", default=os.path.join(DEMO_ROOT, "work-finetune"))
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--train-images", type=int, default=30000)
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--ema", type=float, default=0.995)
    ap.add_argument("--caption-dropout", type=float, default=0.1)
    ap.add_argument("--partial-share", type=float, default=0.5,
                    help="the share of captions that leave out size, position or background")
    ap.add_argument("--hard-share", type=float, default=0.0,
                    help="the share of each batch drawn from one-object scenes of a small square or triangle")
    ap.add_argument("--hard-scenes", choices=sorted(HARD_SCENES), default="corners",
                    help="which scenes --hard-share draws: corners (a small square or triangle) or small (any small object)")
    ap.add_argument("--unplaced-share", type=float, default=0.0,
                    help="the share of the hard scenes' captions that name the size but not the place")
    ap.add_argument("--teach-pair", type=held_out_pair, action="append", default=[], metavar="COLOR:SHAPE",
                    help="a held-out color-shape pair (world.HELD_OUT_PAIRS) whose scenes this fine-tune trains on "
                         "after all (repeatable; README's \"a green triangle\": green:triangle)")
    ap.add_argument("--deepen", type=int, default=0, metavar="N",
                    help="add N ResNet blocks at the latent's full resolution before fine-tuning, each starting "
                         "as the identity (an experiment toward small shapes' corners; the bundle's UNet is then "
                         "deeper than checkpoints/config.json says)")
    ap.add_argument("--checkpoint-every", type=int, default=100)
    ap.add_argument("--no-export", action="store_true", help="train only; leave the bundle as it is")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t0 = time.time()
    unet = Finetune(args).run()
    log(f"fine-tuned in {time.time() - t0:.0f} s")
    if not args.no_export:
        export_unet(unet.eval(), os.path.join(os.path.abspath(args.bundle), "unet", "model.onnx"))
        log(f"wrote {os.path.join(args.bundle, 'unet', 'model.onnx')}")


if __name__ == "__main__":
    main()
