"""A quick look at a (possibly unfinished) training run: DDIM samples of held-out prompts with
classifier-free guidance, decoded by the VAE, written as one PNG grid. PyTorch only; the real
evaluation is Easel's (Java) DemoEval on the exported bundle.

    /usr/bin/python3 -m easel_demo.preview --work work --out /tmp/preview.png [--checkpoint diffusion-ckpt.pt]
    /usr/bin/python3 -m easel_demo.preview --work work --reconstructions      # the VAE's ceiling
    /usr/bin/python3 -m easel_demo.preview --work work --from-noise-levels    # where the UNet loses shapes
"""
import argparse
import os
import random

import numpy as np
import torch

from . import bpe, world
from .models import CONFIG, ToyClip, VaeDecoder
from .train import alphas_cumprod, load_file, load_unet


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="work")
    ap.add_argument("--checkpoint", default="diffusion.pt")
    ap.add_argument("--out", default="/tmp/preview.png")
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--guidance", type=float, default=7.5)
    ap.add_argument("--raw", action="store_true", help="the training weights, not their EMA")
    ap.add_argument("--reconstructions", action="store_true",
                    help="instead: read VAE reconstructions of held-out scenes, the best any UNet can do")
    ap.add_argument("--from-noise-levels", action="store_true",
                    help="instead: shape accuracy of the UNet's picture from held-out latents noised to a few t")
    a = ap.parse_args()
    if a.reconstructions:
        return reconstructions(a.work, max(a.n, 200))
    if a.from_noise_levels:
        return from_noise_levels(a.work, a.checkpoint, max(a.n, 128))
    torch.set_num_threads(1)
    tok, clip = load_text(a.work)
    text = clip.text  # the text encoder is CLIP's text tower
    unet = load_unet(load_file(a.work, a.checkpoint), "unet" if a.raw else "unet_ema")
    dec = load_decoder(a.work)
    sf = load_file(a.work, "latents.pt")["scaling_factor"]
    rng = random.Random(7)
    scenes = [world.sample_scene(rng, "test", 0.0) for _ in range(a.n)]
    prompts = [world.caption(sc, rng) for sc in scenes]
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
    print("rough one-object accuracy:", accuracy(scenes, img, prompts))


def accuracy(scenes, images, prompts=None):
    """Share of one-object scenes whose background, color, shape and position rough_check reads right;
    with prompts, prints what it found for each."""
    hits = {"background": 0, "color": 0, "shape": 0, "shape_template": 0, "position": 0}
    for i, (sc, image) in enumerate(zip(scenes, images)):
        found, o = rough_check(image.astype(np.float32)), sc["objects"][0]
        want = {"background": sc["background"], "color": o["color"], "shape": o["shape"],
                "shape_template": o["shape"], "position": o["position"]}
        for k in hits:
            hits[k] += found.get(k) == want[k]
        if prompts:
            print(i, prompts[i], "->", found)
    return {k: f"{100 * v / len(scenes):.1f}%" for k, v in hits.items()}


def load_text(work):
    """(tokenizer, toy CLIP) of a run; the CLIP's text tower is the UNet's text encoder."""
    tok = bpe.read(os.path.join(work, "tokenizer"))
    clip = ToyClip(**{**CONFIG["clip"], "vocab_size": len(tok.vocab)})
    clip.load_state_dict(load_file(work, "clip.pt"))
    return tok, clip


def load_decoder(work):
    """The bundle's decoder (decoder.pt) once the decoder stage has run, else the VAE's own."""
    path = os.path.join(work, "decoder.pt")
    if os.path.exists(path):
        dec = VaeDecoder(**CONFIG["vae_decoder"])
        dec.load_state_dict(torch.load(path, map_location="cpu"))
    else:
        dec = VaeDecoder(**CONFIG["vae"])
        dec.load_state_dict(load_file(work, "vae.pt")["decoder"])
    return dec


def reconstructions(work, n):
    """The checker on encode -> decode of n held-out one-object scenes: a ceiling for the UNet."""
    from .models import VaeEncoder
    from .train import to_tensor
    torch.set_num_threads(1)
    enc = VaeEncoder(**CONFIG["vae"])
    enc.load_state_dict(load_file(work, "vae.pt")["encoder"])
    dec = load_decoder(work)
    rng = random.Random(5)
    scenes = [world.sample_scene(rng, "test", 0.0) for _ in range(n)]
    images = np.stack([world.render(sc, rng) for sc in scenes])
    with torch.no_grad():
        rec = dec(enc(to_tensor(images))[0]).clamp(-1, 1).add(1).mul(127.5).round().permute(0, 2, 3, 1).numpy()
    print(f"VAE reconstructions of {n} held-out one-object scenes:", accuracy(scenes, rec))


def from_noise_levels(work, checkpoint, n):
    """Where shapes are lost: n held-out scenes are encoded, noised to timestep t and brought back by
    the UNet (with their caption, no guidance) in one step (its x0 estimate) and by DDIM from t; the
    checker reads the decoded pictures. Against reconstructions (t = 0) and the noised latents
    decoded as they are, this shows whether the UNet keeps a shape it is all but given."""
    from .models import VaeEncoder
    from .train import to_tensor
    torch.set_num_threads(2)
    tok, clip = load_text(work)
    unet = load_unet(load_file(work, checkpoint))
    enc = VaeEncoder(**CONFIG["vae"])
    enc.load_state_dict(load_file(work, "vae.pt")["encoder"])
    dec, sf = load_decoder(work), load_file(work, "latents.pt")["scaling_factor"]
    rng = random.Random(5)
    scenes = [world.sample_scene(rng, "test", 0.0) for _ in range(n)]
    images = np.stack([world.render(sc, rng) for sc in scenes])
    prompts = [world.caption(sc, random.Random(i)) for i, sc in enumerate(scenes)]

    def shape_accuracy(z):
        img = dec(z / sf).clamp(-1, 1).add(1).mul(127.5).round().permute(0, 2, 3, 1).numpy()
        return accuracy(scenes, img)["shape"]

    ac = alphas_cumprod()
    with torch.no_grad():
        z = enc(to_tensor(images))[0] * sf
        ctx = clip.text(torch.tensor([tok.encode_padded(p) for p in prompts]))[0]
        noise = torch.randn(z.shape, generator=torch.Generator().manual_seed(1))
        print(f"{n} held-out one-object scenes; shape accuracy of the reconstructions: {shape_accuracy(z)}")
        for t in (20, 100, 300, 500):
            a = ac[t]
            xt = a.sqrt() * z + (1 - a).sqrt() * noise
            x0 = (xt - (1 - a).sqrt() * unet(xt, torch.full((n,), float(t)), ctx)) / a.sqrt()
            x, ts = xt, list(range(t, -1, -20))
            for i, tt in enumerate(ts):
                eps = unet(x, torch.full((n,), float(tt)), ctx)
                at, an = ac[tt], (ac[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0))
                x = an.sqrt() * (x - (1 - at).sqrt() * eps) / at.sqrt() + (1 - an).sqrt() * eps
            print(f"t={t}: noised latents decoded as they are {shape_accuracy(xt / a.sqrt())}, UNet's one-step x0 "
                  f"{shape_accuracy(x0)}, DDIM from t {shape_accuracy(x)}")


def _nearest(rgb):
    return min(world.PALETTE, key=lambda c: sum((a - b) ** 2 for a, b in zip(world.PALETTE[c], rgb)))


def rough_check(img):
    """A numpy port of Easel's SceneChecker (src/test/java/dev/easel/demo/SceneChecker.java) for one
    object, for watching a run; the Java checker on pictures made by Easel's engine is the judge."""
    h, w, _ = img.shape
    ring = max(1, min(w, h) // 32)
    border = np.concatenate([img[:ring].reshape(-1, 3), img[-ring:].reshape(-1, 3), img[:, :ring].reshape(-1, 3),
                             img[:, -ring:].reshape(-1, 3)])
    bg = np.array([np.sort(border[:, c])[len(border) // 2] for c in range(3)], np.float32)
    out = {"background": _nearest(bg)}
    cand = np.linalg.norm(img - bg, axis=-1) > 60
    comp = _largest_component(cand)
    if comp is None or comp.sum() < 20:
        return out
    interior = comp.copy()
    interior[1:-1, 1:-1] &= comp[:-2, 1:-1] & comp[2:, 1:-1] & comp[1:-1, :-2] & comp[1:-1, 2:]
    interior[0, :] = interior[-1, :] = interior[:, 0] = interior[:, -1] = False
    color = img[interior].mean(0) if interior.any() else img[comp].mean(0)
    out["color"] = _nearest(color)
    near = comp.copy()
    near[1:] |= comp[:-1]; near[:-1] |= comp[1:]; near[:, 1:] |= comp[:, :-1]; near[:, :-1] |= comp[:, 1:]
    ys, xs = np.nonzero(comp)
    box = np.zeros_like(comp)
    box[max(0, ys.min() - 1):ys.max() + 2, max(0, xs.min() - 1):xs.max() + 2] = True
    region = near & box & (np.linalg.norm(img - color, axis=-1) < np.linalg.norm(img - bg, axis=-1))
    if not region.any():
        return out
    ys, xs = np.nonzero(region)
    by0, bx0 = ys.min(), xs.min()
    bh, bw = ys.max() - by0 + 1, xs.max() - bx0 + 1
    cx, cy = bx0 + bw / 2, by0 + bh / 2
    col = "left" if cx / w < 1 / 3 else "right" if cx / w > 2 / 3 else ""
    row = "top" if cy / h < 1 / 3 else "bottom" if cy / h > 2 / 3 else ""
    out["position"] = (f"{row} {col}".strip() or "center")
    rows = region.sum(1)

    def mean_width(a, b):
        lo = int(np.floor(a)); hi = max(lo, int(np.ceil(b)) - 1)
        return rows[lo:hi + 1].mean()

    upper, lower = mean_width(by0 + bh * 0.15, by0 + bh * 0.35), mean_width(by0 + bh * 0.65, by0 + bh * 0.85)
    kh, kw = max(1, int(np.floor(bh * 0.25 + 0.5))), max(1, int(np.floor(bw * 0.25 + 0.5)))  # as Java's Math.round
    box = region[by0:by0 + bh, bx0:bx0 + bw]
    corners = box[:kh, :kw].sum() + box[:kh, -kw:].sum() + box[-kh:, :kw].sum() + box[-kh:, -kw:].sum()
    corner_fill = corners / (4 * kh * kw)
    out["shape"] = "triangle" if lower > 0 and upper / lower < 0.6 else ("square" if corner_fill > 0.7 else "circle")
    out["shape_template"] = template_shape(box)
    return out


def template_shape(box, subsamples=4):
    """The checker's template rule (SceneChecker.templateShape): the ideal circle, square or upright
    triangle filling the region's bounding box with the highest intersection over union (each
    pixel's coverage by the ideal shape from subsamples² points)."""
    bh, bw = box.shape
    off = (np.arange(subsamples) + 0.5) / subsamples
    py = (np.arange(bh)[:, None] + off[None, :]).reshape(-1)            # [bh*n] sample rows
    px = (np.arange(bw)[:, None] + off[None, :]).reshape(-1)
    yy, xx = np.meshgrid(py, px, indexing="ij")
    hw, hh = bw / 2, bh / 2
    inside = {"circle": ((xx - hw) / hw) ** 2 + ((yy - hh) / hh) ** 2 <= 1,
              "square": np.ones_like(xx, bool),
              "triangle": np.abs(xx - hw) <= hw * yy / bh}
    region = box.astype(np.float64)
    best, best_iou = None, -1.0
    for shape in ("circle", "square", "triangle"):
        cover = inside[shape].reshape(bh, subsamples, bw, subsamples).mean((1, 3))
        iou = (region * cover).sum() / np.maximum(region, cover).sum()
        if iou > best_iou:
            best, best_iou = shape, iou
    return best


def _largest_component(mask):
    h, w = mask.shape
    label = np.zeros((h, w), np.int32)
    best, best_n, n = None, 0, 0
    for y0, x0 in zip(*np.nonzero(mask)):
        if label[y0, x0]:
            continue
        n += 1
        stack, members = [(y0, x0)], []
        label[y0, x0] = n
        while stack:
            y, x = stack.pop()
            members.append((y, x))
            for yy, xx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= yy < h and 0 <= xx < w and mask[yy, xx] and not label[yy, xx]:
                    label[yy, xx] = n
                    stack.append((yy, xx))
        if len(members) > best_n:
            best_n, best = len(members), n
    return None if best is None else label == best


if __name__ == "__main__":
    main()
