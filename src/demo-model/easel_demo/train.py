"""Stages: render data -> BPE tokenizer -> VAE -> latents -> text encoder + UNet -> toy CLIP ->
export (ONNX bundle) -> report. Every stage writes its result to --work and is skipped when that
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
from .models import CONFIG, TextTransformer, ToyClip, UNet, VaeDecoder, VaeEncoder

T = 1000
BETA_START, BETA_END = 0.00085, 0.012


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def alphas_cumprod():
    betas = torch.linspace(BETA_START ** 0.5, BETA_END ** 0.5, T, dtype=torch.float64) ** 2  # scaled_linear
    return torch.cumprod(1 - betas, 0).float()


def to_tensor(images_uint8):
    return torch.from_numpy(images_uint8).permute(0, 3, 1, 2).float().div(127.5).sub(1)


class Stages:
    def __init__(self, args):
        self.args = args
        self.work = args.work
        os.makedirs(self.work, exist_ok=True)
        self.timings = self._load_json("timings.json", {})

    def path(self, name):
        return os.path.join(self.work, name)

    def _load_json(self, name, default):
        p = self.path(name)
        return json.load(open(p)) if os.path.exists(p) else default

    def timed(self, name, fn):
        t0 = time.time()
        result = fn()
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
        vocab = json.load(open(os.path.join(p, "vocab.json"), encoding="utf-8"))
        lines = open(os.path.join(p, "merges.txt"), encoding="utf-8").read().splitlines()[1:]
        merges = [tuple(l.split(" ")) for l in lines if l]
        return bpe.Tokenizer(vocab, merges)

    # ------------------------------------------------------------ VAE
    def vae(self, images):
        p = self.path("vae.pt")
        enc, dec = VaeEncoder(**CONFIG["vae"]), VaeDecoder(**CONFIG["vae"])
        if os.path.exists(p):
            state = torch.load(p)
            enc.load_state_dict(state["encoder"]), dec.load_state_dict(state["decoder"])
            return enc, dec
        torch.manual_seed(self.args.seed)
        params = list(enc.parameters()) + list(dec.parameters())
        opt = torch.optim.AdamW(params, lr=2e-3, weight_decay=0.0)
        steps, batch = self.args.vae_steps, 32
        gen = torch.Generator().manual_seed(self.args.seed + 1)
        for step in range(steps):
            lr = 2e-3 * 0.5 * (1 + math.cos(math.pi * step / steps))
            for g in opt.param_groups:
                g["lr"] = lr
            idx = torch.randint(0, len(images), (batch,), generator=gen)
            x = to_tensor(images[idx.numpy()])
            mean, logvar = enc(x)
            z = mean + torch.randn(mean.shape, generator=gen) * torch.exp(0.5 * logvar)
            rec = dec(z)
            kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).mean()
            loss = F.mse_loss(rec, x) + F.l1_loss(rec, x) + self.args.kl_weight * kl
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % 100 == 0 or step == steps - 1:
                log(f"vae {step}/{steps} loss {loss.item():.4f} kl {kl.item():.3f}")
        torch.save({"encoder": enc.state_dict(), "decoder": dec.state_dict()}, p)
        return enc, dec

    def latents(self, enc, images):
        p = self.path("latents.pt")
        if os.path.exists(p):
            return torch.load(p)
        out = []
        with torch.no_grad():
            for i in range(0, len(images), 256):
                out.append(enc(to_tensor(images[i:i + 256]))[0])
        z = torch.cat(out)
        scaling = float(1.0 / z.std())
        torch.save({"latents": z, "scaling_factor": scaling}, p)
        log(f"latents {tuple(z.shape)} std {z.std():.4f} -> scaling_factor {scaling:.5f}")
        return {"latents": z, "scaling_factor": scaling}

    def sharpen_decoder(self, dec, images, lat):
        """Fine-tunes the decoder alone on the encoder's latent means (encoder frozen, so the
        latents the UNet learns are unchanged): the VAE's short joint training decodes sampled,
        noisy latents and leaves edges soft and the corners of small squares rounded. Two rounds
        (each a cosine schedule), the second with L1 only, which favours sharp edges."""
        rounds = [("decoder-r1.pt", self.args.decoder_steps, True), ("decoder.pt", self.args.decoder_steps2, False)]
        for number, (name, steps, with_mse) in enumerate(rounds):
            p = self.path(name)
            if os.path.exists(p):
                dec.load_state_dict(torch.load(p))
                continue
            torch.manual_seed(self.args.seed + 6 + 10 * number)
            gen = torch.Generator().manual_seed(self.args.seed + 7 + 10 * number)
            z_all = lat["latents"]
            opt = torch.optim.AdamW(dec.parameters(), lr=1e-3, weight_decay=0.0)
            batch = 32
            for step in range(steps):
                for g in opt.param_groups:
                    g["lr"] = 1e-3 * 0.5 * (1 + math.cos(math.pi * step / steps))
                idx = torch.randint(0, len(z_all), (batch,), generator=gen)
                x = to_tensor(images[idx.numpy()])
                # A little latent noise: decoded UNet outputs are never exactly on the encoder's manifold.
                z = z_all[idx] + 0.05 * z_all.std() * torch.randn(z_all[idx].shape, generator=gen)
                rec = dec(z)
                loss = F.l1_loss(rec, x) + (F.mse_loss(rec, x) if with_mse else 0)
                opt.zero_grad()
                loss.backward()
                opt.step()
                if step % 100 == 0 or step == steps - 1:
                    log(f"decoder round {number + 1} {step}/{steps} loss {loss.item():.4f}")
            torch.save(dec.state_dict(), p)
        return dec

    # ------------------------------------------------------------ text encoder + UNet
    def diffusion(self, tok, captions, lat):
        final = self.path("diffusion.pt")
        text = TextTransformer(**{**CONFIG["text"], "vocab_size": len(tok.vocab)})
        unet = UNet(**CONFIG["unet"])
        if os.path.exists(final):
            state = torch.load(final)
            text.load_state_dict(state["text_ema"]), unet.load_state_dict(state["unet_ema"])
            return text, unet
        torch.manual_seed(self.args.seed + 2)
        ema_text, ema_unet = TextTransformer(**{**CONFIG["text"], "vocab_size": len(tok.vocab)}), UNet(**CONFIG["unet"])
        ema_text.load_state_dict(text.state_dict()), ema_unet.load_state_dict(unet.state_dict())
        params = list(text.parameters()) + list(unet.parameters())
        opt = torch.optim.AdamW(params, lr=self.args.lr, weight_decay=0.01)
        gen = torch.Generator().manual_seed(self.args.seed + 3)
        start = 0
        ckpt = self.path("diffusion-ckpt.pt")
        if os.path.exists(ckpt):
            s = torch.load(ckpt)
            text.load_state_dict(s["text"]), unet.load_state_dict(s["unet"])
            ema_text.load_state_dict(s["text_ema"]), ema_unet.load_state_dict(s["unet_ema"])
            opt.load_state_dict(s["opt"]), gen.set_state(s["gen"])
            start = s["step"]
            log(f"resuming diffusion at step {start}")
        ids = torch.tensor([tok.encode_padded(c) for c in captions], dtype=torch.long)
        empty = torch.tensor(tok.encode_padded(""), dtype=torch.long)
        z_all = lat["latents"] * lat["scaling_factor"]
        ac = alphas_cumprod()
        snr = ac / (1 - ac)
        steps, batch = self.args.unet_steps, self.args.batch
        warmup = 200
        t_start = time.time()
        for step in range(start, steps):
            lr = self.args.lr * min(1.0, (step + 1) / warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / steps)))
            for g in opt.param_groups:
                g["lr"] = lr
            idx = torch.randint(0, len(z_all), (batch,), generator=gen)
            x0 = z_all[idx]
            cond = ids[idx].clone()
            drop = torch.rand(batch, generator=gen) < self.args.caption_dropout
            cond[drop] = empty
            t = torch.randint(0, T, (batch,), generator=gen)
            noise = torch.randn(x0.shape, generator=gen)
            a = ac[t].view(-1, 1, 1, 1)
            xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
            eps = unet(xt, t.float(), text(cond)[0])
            # Min-SNR-5 weighting (Hang et al. 2023): faster convergence of epsilon prediction.
            w = (snr[t].clamp(max=5.0) / snr[t]).view(-1, 1, 1, 1)
            loss = (w * (eps - noise).pow(2)).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            decay = min(self.args.ema, (1 + step) / (10 + step))
            with torch.no_grad():
                for m, e in ((text, ema_text), (unet, ema_unet)):
                    for p_, q_ in zip(m.parameters(), e.parameters()):
                        q_.mul_(decay).add_(p_, alpha=1 - decay)
            if step % 50 == 0 or step == steps - 1:
                el = time.time() - t_start
                log(f"unet {step}/{steps} loss {loss.item():.4f} lr {lr:.2e} {el / (step - start + 1):.2f}s/step")
            if (step + 1) % 250 == 0 and step + 1 < steps:
                torch.save({"text": text.state_dict(), "unet": unet.state_dict(), "text_ema": ema_text.state_dict(),
                            "unet_ema": ema_unet.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(),
                            "step": step + 1}, ckpt + ".tmp")
                os.replace(ckpt + ".tmp", ckpt)
        torch.save({"text_ema": ema_text.state_dict(), "unet_ema": ema_unet.state_dict()}, final)
        return ema_text, ema_unet

    # ------------------------------------------------------------ toy CLIP
    def clip(self, tok, images, captions):
        p = self.path("clip.pt")
        cfg = {**CONFIG["clip"], "vocab_size": len(tok.vocab)}
        model = ToyClip(**cfg)
        if os.path.exists(p):
            model.load_state_dict(torch.load(p))
            return model
        torch.manual_seed(self.args.seed + 4)
        gen = torch.Generator().manual_seed(self.args.seed + 5)
        ids = torch.tensor([tok.encode_padded(c) for c in captions], dtype=torch.long)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
        steps, batch = self.args.clip_steps, 128
        for step in range(steps):
            for g in opt.param_groups:
                g["lr"] = 1e-3 * min(1.0, (step + 1) / 100) * 0.5 * (1 + math.cos(math.pi * step / steps))
            idx = torch.randint(0, len(images), (batch,), generator=gen)
            pix = clip_pixels(to_tensor(images[idx.numpy()]))
            te, ie = model.encode_text(ids[idx]), model.encode_image(pix)
            logits = model.logit_scale.exp().clamp(max=100) * te @ ie.t()
            # Identical captions in a batch are true pairs too: soft targets over equal captions.
            same = (ids[idx][:, None, :] == ids[idx][None, :, :]).all(-1).float()
            target = same / same.sum(1, keepdim=True)
            loss = 0.5 * (-(target * logits.log_softmax(1)).sum(1).mean() - (target * logits.t().log_softmax(1)).sum(1).mean())
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % 100 == 0 or step == steps - 1:
                log(f"clip {step}/{steps} loss {loss.item():.4f} scale {model.logit_scale.exp().item():.1f}")
        torch.save(model.state_dict(), p)
        return model


# CLIP preprocessing: pixels in [0,1] normalised with OpenAI CLIP's mean/std, at 64x64 (no resize).
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def clip_pixels(x_minus1_1):
    x = (x_minus1_1 + 1) / 2
    return (x - torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)) / torch.tensor(CLIP_STD).view(1, 3, 1, 1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "bundle"))
    ap.add_argument("--work", default=os.path.join(os.path.dirname(__file__), "..", "work"))
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("EASEL_DEMO_THREADS", "2")))
    ap.add_argument("--train-images", type=int, default=30000)
    ap.add_argument("--vae-steps", type=int, default=800)
    ap.add_argument("--decoder-steps", type=int, default=300)
    ap.add_argument("--decoder-steps2", type=int, default=400)
    ap.add_argument("--kl-weight", type=float, default=1e-4)
    ap.add_argument("--unet-steps", type=int, default=1200)
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--caption-dropout", type=float, default=0.1)
    ap.add_argument("--clip-steps", type=int, default=250)
    ap.add_argument("--stop-after", default="", help="stop after this stage (data, vae, diffusion, clip)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    random.seed(args.seed), np.random.seed(args.seed), torch.manual_seed(args.seed)
    s = Stages(args)
    images, captions = s.timed("render", s.data)
    tok = s.tokenizer(captions)
    log(f"{len(images)} scenes, vocabulary {len(tok.vocab)}")
    if args.stop_after == "data":
        return
    enc, dec = s.timed("vae", lambda: s.vae(images))
    lat = s.timed("latents", lambda: s.latents(enc, images))
    if args.stop_after == "vae":
        return
    text, unet = s.timed("diffusion", lambda: s.diffusion(tok, captions, lat))
    if args.stop_after == "diffusion":
        return
    dec = s.timed("decoder", lambda: s.sharpen_decoder(dec, images, lat))
    clip = s.timed("clip", lambda: s.clip(tok, images, captions))
    if args.stop_after == "clip":
        return
    from . import export
    s.timed("export", lambda: export.export_all(s, args, tok, enc, dec, lat, text, unet, clip))
    log(f"timings {s.timings}")
