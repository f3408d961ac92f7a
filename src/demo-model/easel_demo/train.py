"""Stages: render data -> BPE tokenizer -> VAE -> latents -> text encoder + UNet -> partial
captions (finetune.py) -> toy CLIP -> export (ONNX bundle) -> report. Every stage writes its result to --work and is skipped when that
result exists, so an interrupted run resumes (the UNet also from periodic checkpoints)."""
import argparse
import json
import math
import os
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import bpe, world
from .models import BETA_END, BETA_START, CONFIG, TRAIN_STEPS, ToyClip, UNet, VaeDecoder, VaeEncoder, alphas_cumprod

T = TRAIN_STEPS


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def update(opt, loss):
    """One optimizer step on loss (the VAE, decoder and CLIP stages; the UNet's also clips gradients)."""
    opt.zero_grad()
    loss.backward()
    opt.step()


def log_due(step, steps):
    return step % 100 == 0 or step == steps - 1


def to_tensor(images_uint8):
    return torch.from_numpy(images_uint8).permute(0, 3, 1, 2).float().div(127.5).sub(1)


def load_file(work, name):
    """A torch file of a work folder, on the CPU whichever device wrote it."""
    return torch.load(os.path.join(work, name), map_location="cpu")


def load_unet(state, key="unet_ema"):
    """The UNet of a diffusion checkpoint, built from the config saved with it (checkpoints written
    before configs were saved hold the default CONFIG["unet"])."""
    unet = UNet(**state.get("config", CONFIG["unet"]))
    unet.load_state_dict(state[key])
    return unet


class Stages:
    def __init__(self, args):
        self.args = args
        self.work = args.work
        self.device = torch.device(args.device)
        os.makedirs(self.work, exist_ok=True)
        self.timings = self._load_json("timings.json", {})

    def path(self, name):
        return os.path.join(self.work, name)

    def load(self, name):
        return load_file(self.work, name)

    def unet_config(self):
        return {**CONFIG["unet"], "channels": self.args.unet_channels,
                "full_res_attention": self.args.unet_full_res_attention}

    def _load_json(self, name, default):
        p = self.path(name)
        return json.load(open(p)) if os.path.exists(p) else default

    def timed(self, name, fn):
        t0 = time.time()
        result = fn()
        # The decoder's process, beside the UNet's, writes its own entry to the same file: keep it.
        self.timings = {**self._load_json("timings.json", {}), **self.timings}
        if name not in self.timings:
            self.timings[name] = round(time.time() - t0, 1)
            json.dump(self.timings, open(self.path("timings.json"), "w"), indent=2)
        return result

    # ------------------------------------------------------------ data + tokenizer
    def data(self):
        p = self.path("data.npz")
        if not os.path.exists(p):
            log(f"rendering {self.args.train_images} training scenes")
            images, captions, scenes = world.dataset(self.args.train_images, self.args.seed, "train")
            np.savez(p, images=images)
            json.dump({"captions": captions, "scenes": scenes}, open(self.path("captions.json"), "w"))
        images = np.load(p)["images"]
        meta = json.load(open(self.path("captions.json")))
        return images, meta["captions"]

    def tokenizer(self, captions):
        p = self.path("tokenizer")
        if not os.path.exists(os.path.join(p, "merges.txt")):
            merges = bpe.learn(captions)
            bpe.write(p, bpe.vocab_of(merges), merges)
        return bpe.read(p)

    # ------------------------------------------------------------ VAE
    def vae(self, images):
        p = self.path("vae.pt")
        enc, dec = VaeEncoder(**CONFIG["vae"]), VaeDecoder(**CONFIG["vae"])
        if os.path.exists(p):
            state = self.load("vae.pt")
            enc.load_state_dict(state["encoder"]), dec.load_state_dict(state["decoder"])
            return enc, dec
        torch.manual_seed(self.args.seed)
        dev = self.device
        enc.to(dev), dec.to(dev)
        params = list(enc.parameters()) + list(dec.parameters())
        opt = torch.optim.AdamW(params, lr=2e-3, weight_decay=0.0)
        steps, batch = self.args.vae_steps, 32
        gen = torch.Generator().manual_seed(self.args.seed + 1)
        for step in range(steps):
            lr = 2e-3 * 0.5 * (1 + math.cos(math.pi * step / steps))
            for g in opt.param_groups:
                g["lr"] = lr
            idx = torch.randint(0, len(images), (batch,), generator=gen)
            x = to_tensor(images[idx.numpy()]).to(dev)
            mean, logvar = enc(x)
            z = mean + torch.randn(mean.shape, generator=gen).to(dev) * torch.exp(0.5 * logvar)
            # Noise relative to the latents' spread (scaling them up cannot hide from it): the decoder
            # must read every picture through it, so the encoder spreads what tells a square from a
            # circle above it. Without it, shape lived in latent details smaller than the UNet's own
            # error at low noise, and the UNet drew blobs (README: "Where the shapes are lost").
            z = z + self.args.vae_latent_noise * mean.std().detach() * torch.randn(mean.shape, generator=gen).to(dev)
            rec = dec(z)
            kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).mean()
            loss = F.mse_loss(rec, x) + F.l1_loss(rec, x) + self.args.kl_weight * kl
            update(opt, loss)
            if log_due(step, steps):
                log(f"vae {step}/{steps} loss {loss.item():.4f} kl {kl.item():.3f}")
        enc.cpu(), dec.cpu()
        torch.save({"encoder": enc.state_dict(), "decoder": dec.state_dict()}, p)
        return enc, dec

    def latents(self, enc, images):
        p = self.path("latents.pt")
        if os.path.exists(p):
            return self.load("latents.pt")
        out = []
        enc.to(self.device)
        with torch.no_grad():
            for i in range(0, len(images), 256):
                out.append(enc(to_tensor(images[i:i + 256]).to(self.device))[0].cpu())
        enc.cpu()
        z = torch.cat(out)
        scaling = float(1.0 / z.std())
        torch.save({"latents": z, "scaling_factor": scaling}, p)
        log(f"latents {tuple(z.shape)} std {z.std():.4f} -> scaling_factor {scaling:.5f}")
        return {"latents": z, "scaling_factor": scaling}

    def decoder(self, images, lat):
        """The bundle's VAE decoder: a wider one than the VAE's own (CONFIG["vae_decoder"]), trained
        from scratch on the frozen encoder's latent means, so the latents the UNet learns are
        unchanged. The VAE's jointly trained decoder drew small triangles and squares as blobs.
        L1 + MSE, with a little latent noise: decoded UNet outputs are never exactly on the
        encoder's manifold."""
        p = self.path("decoder.pt")
        dec = VaeDecoder(**CONFIG["vae_decoder"])
        if os.path.exists(p):
            dec.load_state_dict(self.load("decoder.pt"))
            return dec
        torch.manual_seed(self.args.seed + 6)
        dev = self.device
        dec.to(dev)
        gen = torch.Generator().manual_seed(self.args.seed + 7)
        z_all = lat["latents"]
        opt = torch.optim.AdamW(dec.parameters(), lr=2e-3, weight_decay=0.0)
        steps, batch = self.args.decoder_steps, 32
        t_start = time.time()
        for step in range(steps):
            for g in opt.param_groups:
                g["lr"] = 2e-3 * min(1.0, (step + 1) / 50) * 0.5 * (1 + math.cos(math.pi * step / steps))
            idx = torch.randint(0, len(z_all), (batch,), generator=gen)
            x = to_tensor(images[idx.numpy()]).to(dev)
            z = (z_all[idx] + 0.05 * z_all.std() * torch.randn(z_all[idx].shape, generator=gen)).to(dev)
            rec = dec(z)
            loss = F.l1_loss(rec, x) + F.mse_loss(rec, x)
            update(opt, loss)
            if log_due(step, steps):
                log(f"decoder {step}/{steps} loss {loss.item():.4f} {(time.time() - t_start) / (step + 1):.2f}s/step")
        dec.cpu()
        torch.save(dec.state_dict(), p)
        return dec

    # ------------------------------------------------------------ UNet (text encoder = CLIP's text tower)
    def diffusion(self, tok, captions, lat, text):
        """Trains the UNet with the toy CLIP's text tower, frozen, as its text encoder, as Stable
        Diffusion uses OpenAI CLIP's: the caption's meaning is already in the hidden states, so the
        UNet's whole budget goes into drawing it (a text encoder trained jointly from scratch
        learned to read the captions far too slowly for a CPU budget)."""
        final = self.path("diffusion.pt")
        if os.path.exists(final):
            return load_unet(self.load("diffusion.pt"))
        dev = self.device
        unet = UNet(**self.unet_config())
        text.eval()
        for p_ in text.parameters():
            p_.requires_grad_(False)
        torch.manual_seed(self.args.seed + 2)
        ema_unet = UNet(**self.unet_config())
        ema_unet.load_state_dict(unet.state_dict())
        unet.to(dev), ema_unet.to(dev)
        params, ema_params = list(unet.parameters()), list(ema_unet.parameters())
        opt = torch.optim.AdamW(params, lr=self.args.lr, weight_decay=0.01)
        gen = torch.Generator().manual_seed(self.args.seed + 3)
        start = 0
        ckpt = self.path("diffusion-ckpt.pt")
        if os.path.exists(ckpt):
            s = torch.load(ckpt, map_location=dev)
            unet.load_state_dict(s["unet"]), ema_unet.load_state_dict(s["unet_ema"])
            opt.load_state_dict(s["opt"]), gen.set_state(s["gen"].cpu())
            start = s["step"]
            log(f"resuming diffusion at step {start}")
        # The text tower is frozen: its hidden states for every caption are computed once
        # ([N, 77, D] for the N training captions, and the empty caption's [77, D]).
        ids = torch.tensor([tok.encode_padded(c) for c in captions], dtype=torch.long)
        text.to(dev)
        with torch.no_grad():
            ctx_all = torch.cat([text(ids[i:i + 512].to(dev))[0] for i in range(0, len(ids), 512)])
            ctx_empty = text(torch.tensor([tok.encode_padded("")], dtype=torch.long, device=dev))[0][0]
        text.cpu()
        z_all = (lat["latents"] * lat["scaling_factor"]).to(dev)   # [N, 4, 16, 16]
        ac = alphas_cumprod().to(dev)                               # [1000]
        snr = ac / (1 - ac)
        steps, batch = self.args.unet_steps, self.args.batch
        warmup = 200
        t_start = time.time()
        for step in range(start, steps):
            lr = self.args.lr * min(1.0, (step + 1) / warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / steps)))
            for g in opt.param_groups:
                g["lr"] = lr
            # All randomness from the CPU generator: the same draws on either device.
            idx = torch.randint(0, len(z_all), (batch,), generator=gen)
            drop = torch.rand(batch, generator=gen) < self.args.caption_dropout
            t = torch.randint(0, T, (batch,), generator=gen)
            noise = torch.randn((batch,) + tuple(z_all.shape[1:]), generator=gen)
            idx, drop, t, noise = idx.to(dev), drop.to(dev), t.to(dev), noise.to(dev)
            x0 = z_all[idx]
            ctx = torch.where(drop.view(-1, 1, 1), ctx_empty, ctx_all[idx])
            a = ac[t].view(-1, 1, 1, 1)
            xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
            eps = unet(xt, t.float(), ctx)
            # The loss on the implied picture x0, weighted by SNR clamped to [1, 5]: Min-SNR-5 (Hang et
            # al. 2023) caps the easy low-noise steps, and the floor of 1 ("truncated SNR", Salimans &
            # Ho 2022) keeps the high-noise steps, where layout and colors are decided, from weighing
            # almost nothing (SNR 0.005 at t = 999). With plain epsilon-MSE the caption barely changed
            # the loss there, and the UNet learned to ignore it. eps error e gives x0 error e / sqrt(SNR).
            w = (snr[t].clamp(min=1.0, max=5.0) / snr[t]).view(-1, 1, 1, 1)
            loss = (w * (eps - noise).pow(2)).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            decay = min(self.args.ema, (1 + step) / (10 + step))
            with torch.no_grad():
                torch._foreach_mul_(ema_params, decay)
                torch._foreach_add_(ema_params, params, alpha=1 - decay)
            if step % 50 == 0 or step == steps - 1:
                el = time.time() - t_start
                log(f"unet {step}/{steps} loss {loss.item():.4f} lr {lr:.2e} {el / (step - start + 1):.3f}s/step")
            if (step + 1) % self.args.checkpoint_every == 0 and step + 1 < steps:
                torch.save({"unet": unet.state_dict(), "unet_ema": ema_unet.state_dict(), "opt": opt.state_dict(),
                            "gen": gen.get_state(), "step": step + 1, "config": unet.config}, ckpt + ".tmp")
                os.replace(ckpt + ".tmp", ckpt)
        ema_unet.cpu()
        torch.save({"unet_ema": ema_unet.state_dict(), "config": ema_unet.config}, final)
        return ema_unet

    # ------------------------------------------------------------ partial captions
    def partial(self, tok, lat, text, unet):
        """Continues the UNet with half of the captions partial (finetune.teach_partial): prompts
        that leave out the size, position or background then draw exactly one object."""
        from . import finetune
        if os.path.exists(self.path("finetune.pt")):
            unet.load_state_dict(self.load("finetune.pt")["unet_ema"])
            return unet
        a = self.args
        scenes = json.load(open(self.path("captions.json")))["scenes"]
        inputs = finetune.Inputs(lat["latents"] * lat["scaling_factor"], scenes, tok, text)
        recipe = finetune.Recipe(a.partial_steps, a.partial_batch, a.partial_lr, 0.995, a.caption_dropout,
                                 a.partial_share, a.checkpoint_every, a.seed)
        return finetune.teach_partial(unet.cpu(), inputs, recipe, self.work)

    # ------------------------------------------------------------ toy CLIP
    def clip(self, tok, images, captions):
        p = self.path("clip.pt")
        cfg = {**CONFIG["clip"], "vocab_size": len(tok.vocab)}
        model = ToyClip(**cfg)
        if os.path.exists(p):
            model.load_state_dict(self.load("clip.pt"))
            return model
        torch.manual_seed(self.args.seed + 4)
        dev = self.device
        model.to(dev)
        gen = torch.Generator().manual_seed(self.args.seed + 5)
        ids = torch.tensor([tok.encode_padded(c) for c in captions], dtype=torch.long)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
        steps, batch = self.args.clip_steps, 128
        for step in range(steps):
            for g in opt.param_groups:
                g["lr"] = 1e-3 * min(1.0, (step + 1) / 100) * 0.5 * (1 + math.cos(math.pi * step / steps))
            idx = torch.randint(0, len(images), (batch,), generator=gen)
            pix = clip_pixels(to_tensor(images[idx.numpy()]).to(dev))
            te, ie = model.encode_text(ids[idx].to(dev)), model.encode_image(pix)
            logits = model.logit_scale.exp().clamp(max=100) * te @ ie.t()
            # Identical captions in a batch are true pairs too: soft targets over equal captions.
            same = (ids[idx][:, None, :] == ids[idx][None, :, :]).all(-1).float().to(dev)
            target = same / same.sum(1, keepdim=True)
            loss = 0.5 * (-(target * logits.log_softmax(1)).sum(1).mean() - (target * logits.t().log_softmax(1)).sum(1).mean())
            update(opt, loss)
            if log_due(step, steps):
                log(f"clip {step}/{steps} loss {loss.item():.4f} scale {model.logit_scale.exp().item():.1f}")
        model.cpu()
        torch.save(model.state_dict(), p)
        return model


# CLIP preprocessing: pixels in [0,1] normalised with OpenAI CLIP's mean/std, at 64x64 (no resize).
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def clip_pixels(x_minus1_1):
    x = (x_minus1_1 + 1) / 2
    mean, std = (torch.tensor(v, device=x.device).view(1, 3, 1, 1) for v in (CLIP_MEAN, CLIP_STD))
    return (x - mean) / std


# The UNet's recipe per device; every other stage is the same on both. Two CPU cores get through
# 4000 steps of 64 with the small UNet in about 52 minutes (the whole run within the 90);
# an H100 gets through 7000 steps of 256 with the UNet twice as wide at its 16x16 level in about
# 4 minutes, and shapes come out right far more often (README: "Training"). The committed model
# is the GPU recipe's.
UNET_RECIPES = {
    "cpu": {"unet_channels": CONFIG["unet"]["channels"], "batch": 64, "unet_steps": 4000},
    "cuda": {"unet_channels": [64, 96, 128], "batch": 256, "unet_steps": 7000},
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "bundle"))
    ap.add_argument("--work", default=os.path.join(os.path.dirname(__file__), "..", "work"))
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("EASEL_DEMO_THREADS", "2")))
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                    help="where the networks train (default: cuda when there is one)")
    ap.add_argument("--train-images", type=int, default=30000)
    ap.add_argument("--vae-steps", type=int, default=800)
    ap.add_argument("--decoder-steps", type=int, default=1500)
    ap.add_argument("--kl-weight", type=float, default=1e-4)
    ap.add_argument("--vae-latent-noise", type=float, default=0.2,
                    help="noise added to the VAE's latents in training, times their standard deviation")
    ap.add_argument("--unet-steps", type=int, help="default: the device's recipe (UNET_RECIPES)")
    ap.add_argument("--batch", type=int, help="the UNet's batch; default: the device's recipe")
    ap.add_argument("--unet-channels", type=lambda v: [int(c) for c in v.split(",")],
                    help="the UNet's channels at 1/1, 1/2 and 1/4 of the latent; default: the device's recipe")
    ap.add_argument("--unet-full-res-attention", action="store_true",
                    help="cross-attention at the latent's full resolution too")
    ap.add_argument("--checkpoint-every", type=int, default=250)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--caption-dropout", type=float, default=0.1)
    ap.add_argument("--clip-steps", type=int, default=250)
    ap.add_argument("--partial-steps", type=int, default=600,
                    help="steps of the partial-caption stage after the UNet's (0: none; finetune.py)")
    ap.add_argument("--partial-batch", type=int, default=64)
    ap.add_argument("--partial-lr", type=float, default=3e-4)
    ap.add_argument("--partial-share", type=float, default=0.5,
                    help="share of the partial stage's captions that leave out size, position or background")
    ap.add_argument("--stop-after", default="", help="stop after this stage (data, vae, clip, diffusion)")
    ap.add_argument("--decoder-only", action="store_true",
                    help="train only the decoder (it needs the VAE, not the UNet: run it beside the UNet stage)")
    args = ap.parse_args(argv)
    recipe = UNET_RECIPES["cuda" if args.device.startswith("cuda") else "cpu"]
    for key, value in recipe.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    torch.set_num_threads(args.threads)
    # TensorFloat-32 on Ampere and later: these small fp32 networks train as well, faster.
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    random.seed(args.seed), np.random.seed(args.seed), torch.manual_seed(args.seed)
    s = Stages(args)
    images, captions = s.timed("render", s.data)
    tok = s.tokenizer(captions)
    log(f"{len(images)} scenes, vocabulary {len(tok.vocab)}")
    if args.stop_after == "data":
        return
    enc, dec = s.timed("vae", lambda: s.vae(images))
    lat = s.timed("latents", lambda: s.latents(enc, images))
    if args.decoder_only:
        s.timed("decoder", lambda: s.decoder(images, lat))
        return
    if args.stop_after == "vae":
        return
    clip = s.timed("clip", lambda: s.clip(tok, images, captions))
    if args.stop_after == "clip":
        return
    text = clip.text
    # The decoder needs only the VAE's latents: with two or more threads it trains in a second
    # process beside the UNet, one thread each (two single-threaded runs get more done on two
    # cores than one run whose OpenMP threads wait on each other).
    beside = None
    if (args.device == "cpu" and args.threads >= 2 and not os.path.exists(s.path("decoder.pt"))
            and not os.path.exists(s.path("diffusion.pt"))):
        import subprocess
        import sys
        cmd = [sys.executable, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "train.py"),
               "--work", args.work, "--seed", str(args.seed), "--train-images", str(args.train_images),
               "--decoder-steps", str(args.decoder_steps), "--threads", "1", "--decoder-only"]
        log_file = open(s.path("decoder.log"), "a")
        beside = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT)
        log(f"decoder training beside the UNet (pid {beside.pid}, log {s.path('decoder.log')})")
        torch.set_num_threads(args.threads - 1)
    unet = s.timed("diffusion", lambda: s.diffusion(tok, captions, lat, text))
    torch.set_num_threads(args.threads)
    if beside is not None and beside.wait() != 0:
        raise SystemExit(f"decoder training failed: see {s.path('decoder.log')}")
    if args.partial_steps > 0:
        unet = s.timed("partial", lambda: s.partial(tok, lat, text, unet))
    if args.stop_after == "diffusion":
        return
    dec = s.timed("decoder", lambda: s.decoder(images, lat))
    from . import export
    s.timed("export", lambda: export.export_all(s, args, tok, enc, dec, lat, text, unet, clip))
    log(f"timings {s.timings}")
