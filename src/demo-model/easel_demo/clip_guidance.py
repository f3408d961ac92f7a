"""The demo model's CLIP guidance gradient graph, bundle/clip_guidance/model.onnx (contract in docs/clip.md,
"Gradient guidance"; method in docs/decisions.md, "CLIP guidance gradients"):

    latent_sample [b, 4, 16, 16]  x0 / scaling_factor, what the VAE decoder takes
    text_embeds   [b, 64]         the prompt's CLIP embedding (normalised again inside)
      -> loss [b]                 2 asin(|u - t| / 2)^2, u = normalised image embedding, t = normalised text
      -> grad [b, 4, 16, 16]      d loss / d latent_sample

ONNX Runtime has no autograd and torch 1.13 cannot export torch.autograd.grad, so the backward pass
is written here as forward operators: conv -> conv_transpose with the same weights, GroupNorm -> its
vector-Jacobian product, SiLU -> its derivative, nearest 2x upsample -> 2x2 sum pool, 2x2 adaptive
average pool -> nearest upsample / k^2, linear -> matmul with the transposed weight, L2 normalise ->
its VJP. The script checks that backward against torch.autograd.grad of the forward composition
(the committed VaeDecoder and ToyClip modules) before it exports.

One cutout, the whole picture: the decoder makes 64x64 pictures and the toy CLIP takes 64x64
without resizing, and a flipped copy would teach left for right. The latent size is therefore fixed
at 16x16 (64x64 pictures); the batch is dynamic. No clamp of the decoded image to [-1, 1]: clamp's
gradient is 0 outside, so the early steps' clean estimates, which overshoot, would get no steering
exactly where they are wrong, and the loss would have kinks the finite-difference checks trip on.
CLIP sees the decoder's values as they are (the final picture is clamped when it is written).

    /usr/bin/python3 -m easel_demo.clip_guidance --bundle bundle      (from src/demo-model)
"""
import argparse
import json
import os
import warnings

import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

from .models import ToyClip, VaeDecoder

OPSET = 14
HERE = os.path.dirname(os.path.abspath(__file__))
DEMO_ROOT = os.path.dirname(HERE)
EPS = 1e-12


# ---------------------------------------------------------------- layers: forward keeps what backward needs

class _Conv:
    def __init__(self, conv: nn.Conv2d):
        self.conv = conv

    def forward(self, x):
        c = self.conv
        y = F.conv2d(x, c.weight, c.bias, c.stride, c.padding)
        return y, (tuple(x.shape[2:]), tuple(y.shape[2:]))

    def backward(self, ctx, g):
        (hin, win), (hout, wout) = ctx
        c = self.conv
        k, s, p = c.kernel_size, c.stride, c.padding
        # conv_transpose's output is (out - 1) s - 2p + k; output_padding restores what striding dropped.
        pad = (int(hin) - ((int(hout) - 1) * s[0] - 2 * p[0] + k[0]), int(win) - ((int(wout) - 1) * s[1] - 2 * p[1] + k[1]))
        return F.conv_transpose2d(g, c.weight, None, s, p, pad)


class _GroupNorm:
    def __init__(self, norm: nn.GroupNorm):
        self.norm = norm

    def forward(self, x):
        n = self.norm
        c, h, w = (int(d) for d in x.shape[1:])  # fixed in the graph; only the batch is dynamic
        xg = x.reshape(-1, n.num_groups, (c // n.num_groups) * h * w)
        mu = xg.mean(dim=2, keepdim=True)
        centered = xg - mu
        inv = (centered.pow(2).mean(dim=2, keepdim=True) + n.eps).rsqrt()
        xhat = centered * inv
        y = xhat.reshape(-1, c, h, w) * n.weight.view(1, -1, 1, 1) + n.bias.view(1, -1, 1, 1)
        return y, (xhat, inv, (c, h, w))

    def backward(self, ctx, g):
        xhat, inv, shape = ctx
        n = self.norm
        gx = (g * n.weight.view(1, -1, 1, 1)).reshape(xhat.shape)
        # d xhat -> d x: (g - mean(g) - xhat mean(g xhat)) / sigma, means over each group.
        gx = (gx - gx.mean(dim=2, keepdim=True) - xhat * (gx * xhat).mean(dim=2, keepdim=True)) * inv
        return gx.reshape(-1, *shape)


class _Silu:
    def forward(self, x):
        s = torch.sigmoid(x)
        return x * s, (x, s)

    def backward(self, ctx, g):
        x, s = ctx
        return g * s * (1 + x * (1 - s))


class _Upsample2:
    def forward(self, x):
        return F.interpolate(x, scale_factor=2.0, mode="nearest"), None

    def backward(self, ctx, g):
        return F.avg_pool2d(g, 2) * 4  # each input pixel fed 2x2 outputs: their gradients sum


class _Pool2x2:
    """adaptive_avg_pool2d(x, 2) for an even, fixed input side: a k x k average pool."""

    def forward(self, x):
        k = int(x.shape[2]) // 2
        if int(x.shape[2]) != 2 * k or int(x.shape[3]) != 2 * k:
            raise ValueError(f"the vision tower's last map must be square with an even side, got {tuple(x.shape)}")
        return F.avg_pool2d(x, k), k

    def backward(self, k, g):
        return F.interpolate(g, scale_factor=float(k), mode="nearest") / (k * k)


class _Linear:
    def __init__(self, linear: nn.Linear):
        self.linear = linear

    def forward(self, x):
        return F.linear(x, self.linear.weight, self.linear.bias), None

    def backward(self, ctx, g):
        return torch.matmul(g, self.linear.weight)


class _Seq:
    def __init__(self, layers):
        self.layers = layers

    def forward(self, x):
        ctxs = []
        for layer in self.layers:
            x, ctx = layer.forward(x)
            ctxs.append(ctx)
        return x, ctxs

    def backward(self, ctxs, g):
        for layer, ctx in zip(reversed(self.layers), reversed(ctxs)):
            g = layer.backward(ctx, g)
        return g


class _ResBlock:
    """models.ResBlock without time input and with an identity skip (all the decoder has)."""

    def __init__(self, block):
        if not isinstance(block.skip, nn.Identity) or block.time is not None:
            raise ValueError("only ResBlocks with an identity skip and no time input are supported")
        self.body = _Seq([_GroupNorm(block.norm1), _Silu(), _Conv(block.conv1),
                          _GroupNorm(block.norm2), _Silu(), _Conv(block.conv2)])

    def forward(self, x):
        h, ctx = self.body.forward(x)
        return x + h, ctx

    def backward(self, ctx, g):
        return g + self.body.backward(ctx, g)


def _decoder_layers(dec: VaeDecoder):
    from .models import ResBlock
    layers = [_Conv(dec.conv_in), _ResBlock(dec.mid)]
    for m in dec.up:
        if isinstance(m, nn.Upsample):
            if m.mode != "nearest" or float(m.scale_factor) != 2.0:
                raise ValueError(f"unsupported upsampling {m}")
            layers.append(_Upsample2())
        elif isinstance(m, nn.Conv2d):
            layers.append(_Conv(m))
        elif isinstance(m, ResBlock):
            layers.append(_ResBlock(m))
        elif not isinstance(m, nn.Identity):
            raise ValueError(f"unsupported decoder layer {m}")
    return layers + [_GroupNorm(dec.norm), _Silu(), _Conv(dec.conv_out)]


def _vision_layers(clip: ToyClip):
    layers = []
    for m in clip.vision.features:
        if isinstance(m, nn.Conv2d):
            layers.append(_Conv(m))
        elif isinstance(m, nn.GroupNorm):
            layers.append(_GroupNorm(m))
        elif isinstance(m, nn.SiLU):
            layers.append(_Silu())
        else:
            raise ValueError(f"unsupported vision layer {m}")
    return layers


# ---------------------------------------------------------------- the graph

def spherical_loss(u, t):
    """diffusers' CLIP-guided SD: (u - t).norm().div(2).arcsin().pow(2).mul(2), for unit u and t."""
    return (u - t).norm(dim=-1).div(2).arcsin().pow(2).mul(2)


class ClipGuidanceGraph(nn.Module):
    """grad(latent_sample, text_embeds) -> (loss, grad), the backward pass written as forward operators."""

    def __init__(self, dec: VaeDecoder, clip: ToyClip, mean, std):
        super().__init__()
        self.dec = dec
        self.clip = clip
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))
        self.decoder = _Seq(_decoder_layers(dec))
        self.vision = _Seq(_vision_layers(clip) + [_Pool2x2()])
        self.head = _Linear(clip.vision.head)
        self.projection = _Linear(clip.visual_projection)

    def forward(self, latent_sample, text_embeds):
        image, dec_ctx = self.decoder.forward(latent_sample)                 # [b, 3, 64, 64] in about [-1, 1]
        pixels = ((image + 1) / 2 - self.mean) / self.std                     # train.clip_pixels; no clamp
        pooled, vis_ctx = self.vision.forward(pixels)                         # [b, 96, 2, 2]
        feats = pooled.flatten(1)
        hidden, _ = self.head.forward(feats)
        e, _ = self.projection.forward(hidden)                                # [b, 64] image embedding
        norm = e.pow(2).sum(dim=-1, keepdim=True).sqrt().clamp(min=EPS)
        u = e / norm
        t = text_embeds / text_embeds.pow(2).sum(dim=-1, keepdim=True).sqrt().clamp(min=EPS)
        diff = u - t
        r = diff.pow(2).sum(dim=-1, keepdim=True).sqrt()
        half = r / 2
        loss = (2 * torch.asin(half).pow(2)).squeeze(-1)                      # [b]

        # backward: dL/dr = 2 asin(r/2) / sqrt(1 - r^2/4); dr/du = (u - t)/r
        dr = 2 * torch.asin(half) / (1 - half * half).clamp(min=EPS).sqrt()
        du = dr * diff / r.clamp(min=EPS)
        de = (du - u * (u * du).sum(dim=-1, keepdim=True)) / norm            # through the normalisation
        dh = self.projection.backward(None, de)
        df = self.head.backward(None, dh)
        dpixels = self.vision.backward(vis_ctx, df.reshape(-1, *(int(d) for d in pooled.shape[1:])))
        dimage = dpixels * (0.5 / self.std)
        grad = self.decoder.backward(dec_ctx, dimage)
        return loss, grad


def reference_loss(dec, clip, mean, std, latent_sample, text_embeds):
    """The forward composition with the committed modules, for torch.autograd.grad."""
    image = dec(latent_sample)
    # The graph holds the constants in float32; round them the same way so float64 compares like with like.
    m = torch.tensor(mean).to(image.dtype).view(1, 3, 1, 1)
    s = torch.tensor(std).to(image.dtype).view(1, 3, 1, 1)
    u = clip.encode_image(((image + 1) / 2 - m) / s)
    return spherical_loss(u, F.normalize(text_embeds, dim=-1))


def check(dec, clip, mean, std, latent_shape, seed=0, batches=3):
    """Relative error of the hand-written gradient against autograd on random latents, fp64 and fp32;
    returns the largest. Latents as the sampler's clean estimates are (scaled back: std about 1/0.547)."""
    gen = torch.Generator().manual_seed(seed)
    worst = {}
    for dtype in (torch.float64, torch.float32):
        d, c = dec.to(dtype), clip.to(dtype)
        graph = ClipGuidanceGraph(d, c, mean, std).to(dtype)
        errs = []
        for k in range(batches):
            z = (torch.randn(2, *latent_shape, generator=gen) * 1.8).to(dtype).requires_grad_(True)
            text = torch.randn(2, c.visual_projection.out_features, generator=gen).to(dtype)
            ref = reference_loss(d, c, mean, std, z, text)
            (ref_grad,) = torch.autograd.grad(ref.sum(), z)
            with torch.no_grad():
                loss, grad = graph(z.detach(), text)
            loss_err = float((loss - ref).abs().max() / ref.abs().max())
            grad_err = float((grad - ref_grad).norm() / ref_grad.norm())
            errs.append(max(loss_err, grad_err))
            print(f"  {str(dtype).replace('torch.', '')} batch {k}: loss {[round(float(v), 4) for v in ref]},"
                  f" |grad| {float(ref_grad.norm()):.4g}, relative error loss {loss_err:.2e}, grad {grad_err:.2e}",
                  flush=True)
        worst[str(dtype).replace("torch.", "")] = max(errs)
    dec.float(), clip.float()
    return worst


def load(checkpoints):
    cfg = json.load(open(os.path.join(checkpoints, "config.json")))
    dec = VaeDecoder(**cfg.get("vae_decoder", cfg["vae"]))
    dec.load_state_dict(torch.load(os.path.join(checkpoints, "vae_decoder.pt")))
    clip = ToyClip(**cfg["clip"], vocab_size=cfg["vocab_size"])
    clip.load_state_dict(torch.load(os.path.join(checkpoints, "clip.pt")))
    return dec.eval(), clip.eval(), cfg


def export(dec, clip, bundle, latent_size, image_size, scaling_factor):
    """Checks the gradient, then writes <bundle>/clip_guidance/model.onnx and config.json."""
    from .train import CLIP_MEAN, CLIP_STD
    channels = dec.conv_in.in_channels
    dim = clip.visual_projection.out_features
    print("CLIP guidance graph: hand-written backward vs torch.autograd.grad", flush=True)
    worst = check(dec, clip, CLIP_MEAN, CLIP_STD, (channels, latent_size, latent_size))
    print(f"  largest relative error: float64 {worst['float64']:.2e}, float32 {worst['float32']:.2e}", flush=True)
    if worst["float64"] > 1e-9 or worst["float32"] > 1e-3:
        raise SystemExit(f"the hand-written gradient disagrees with autograd: {worst}")

    graph = ClipGuidanceGraph(dec, clip, CLIP_MEAN, CLIP_STD).eval()
    path = os.path.join(os.path.abspath(bundle), "clip_guidance", "model.onnx")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    z = torch.randn(2, channels, latent_size, latent_size)
    text = F.normalize(torch.randn(2, dim), dim=-1)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on the fixed sizes read as Python ints: intended
        torch.onnx.export(graph, (z, text), path, input_names=["latent_sample", "text_embeds"],
                          output_names=["loss", "grad"], opset_version=OPSET, do_constant_folding=True,
                          dynamic_axes={"latent_sample": {0: "batch"}, "text_embeds": {0: "batch"},
                                        "loss": {0: "batch"}, "grad": {0: "batch"}})
    onnx.checker.check_model(onnx.load(path))
    with open(os.path.join(os.path.dirname(path), "config.json"), "w", encoding="utf-8") as f:
        # Easel reads only model.onnx; this records what the graph is.
        json.dump({"inputs": {"latent_sample": [None, channels, latent_size, latent_size], "text_embeds": [None, dim]},
                   "outputs": {"loss": [None], "grad": [None, channels, latent_size, latent_size]},
                   "image_size": image_size, "scaling_factor": scaling_factor, "cutouts": ["whole image"],
                   "clamp": False, "loss": "2 * asin(|normalize(image_embeds) - normalize(text_embeds)| / 2)^2",
                   "preprocessing": {"image_mean": CLIP_MEAN, "image_std": CLIP_STD},
                   "autograd_check_relative_error": {k: float(f"{v:.2e}") for k, v in worst.items()}},
                  f, indent=2)
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)", flush=True)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", required=True, help="bundle directory to write clip_guidance/ into")
    ap.add_argument("--checkpoints", default=os.path.join(DEMO_ROOT, "checkpoints"),
                    help="state_dicts and config.json (default: the committed checkpoints/)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    dec, clip, cfg = load(args.checkpoints)
    factor = 2 ** (len(cfg["vae"]["block_out_channels"]) - 1)
    size = cfg["clip"]["image_size"]
    export(dec, clip, args.bundle, size // factor, size, cfg["vae_scaling_factor"])


if __name__ == "__main__":
    main()
