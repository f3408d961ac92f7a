"""A quick look at a (possibly unfinished) training run: DDIM samples of held-out prompts with
classifier-free guidance, decoded by the VAE, written as one PNG grid. PyTorch only; the real
evaluation is Easel's (Java) DemoEval on the exported bundle.

    /usr/bin/python3 -m easel_demo.preview --work work --out /tmp/preview.png [--checkpoint diffusion-ckpt.pt]
"""
import argparse
import json
import os
import random

import numpy as np
import torch

from . import bpe, world
from .models import CONFIG, TextTransformer, UNet, VaeDecoder
from .train import alphas_cumprod


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="work")
    ap.add_argument("--checkpoint", default="diffusion.pt")
    ap.add_argument("--out", default="/tmp/preview.png")
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--guidance", type=float, default=7.5)
    a = ap.parse_args()
    torch.set_num_threads(1)
    tokdir = os.path.join(a.work, "tokenizer")
    vocab = json.load(open(os.path.join(tokdir, "vocab.json"), encoding="utf-8"))
    merges = [tuple(l.split(" ")) for l in open(os.path.join(tokdir, "merges.txt"), encoding="utf-8").read().splitlines()[1:] if l]
    tok = bpe.Tokenizer(vocab, merges)
    state = torch.load(os.path.join(a.work, a.checkpoint))
    text = TextTransformer(**{**CONFIG["text"], "vocab_size": len(vocab)})
    unet = UNet(**CONFIG["unet"])
    text.load_state_dict(state["text_ema"]), unet.load_state_dict(state["unet_ema"])
    dec = VaeDecoder(**CONFIG["vae"])
    dpath = os.path.join(a.work, "decoder.pt")
    dec.load_state_dict(torch.load(dpath) if os.path.exists(dpath) else torch.load(os.path.join(a.work, "vae.pt"))["decoder"])
    sf = torch.load(os.path.join(a.work, "latents.pt"))["scaling_factor"]
    rng = random.Random(7)
    prompts = [world.caption(world.sample_scene(rng, "test", 0.25), rng) for _ in range(a.n)]
    ids = torch.tensor([tok.encode_padded(p) for p in prompts] + [tok.encode_padded("")] * a.n)
    ac = alphas_cumprod()
    ts = list(range(999, -1, -1000 // a.steps))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(a.n, 4, 16, 16, generator=g)
    with torch.no_grad():
        ctx = text(ids)[0]
        for i, t in enumerate(ts):
            eps_c, eps_u = unet(torch.cat([x, x]), torch.full((2 * a.n,), float(t)), ctx).chunk(2)
            eps = eps_u + a.guidance * (eps_c - eps_u)
            at = ac[t]
            ap_ = ac[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0)
            x0 = (x - (1 - at).sqrt() * eps) / at.sqrt()
            x = ap_.sqrt() * x0 + (1 - ap_).sqrt() * eps
        img = dec(x / sf).clamp(-1, 1).add(1).mul(127.5).round().byte().permute(0, 2, 3, 1).numpy()
    rows = [np.concatenate(list(img[r * 8:(r + 1) * 8]), 1) for r in range(len(img) // 8)]
    from PIL import Image
    Image.fromarray(np.concatenate(rows, 0)).resize((8 * 128, len(rows) * 128), Image.NEAREST).save(a.out)
    for i, p in enumerate(prompts):
        print(i, p)


if __name__ == "__main__":
    main()
