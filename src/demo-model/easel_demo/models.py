"""The demo model's networks, kept importable so that gradient graphs (CLIP guidance through the
VAE decoder, for instance) can be exported later from the committed state_dicts:

    dec = VaeDecoder(**CONFIG["vae"]); dec.load_state_dict(torch.load("checkpoints/vae_decoder.pt"))

All attention is written with plain matmuls so the ONNX graphs stay simple.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {
    "vae": {"block_out_channels": [16, 32, 64], "latent_channels": 4},
    "text": {"vocab_size": 0, "width": 96, "layers": 2, "heads": 4, "max_positions": 77},
    "unet": {"channels": [48, 96, 128], "latent_channels": 4, "context_dim": 96, "heads": 4, "time_dim": 192},
    "clip": {"width": 96, "layers": 2, "heads": 4, "image_channels": [32, 64, 96], "projection_dim": 64,
             "image_size": 64},
}


def groups(c):
    return 8 if c % 8 == 0 else 1


class ResBlock(nn.Module):
    def __init__(self, cin, cout, time_dim=0):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups(cin), cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time = nn.Linear(time_dim, cout) if time_dim else None
        self.norm2 = nn.GroupNorm(groups(cout), cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, t=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if self.time is not None:
            h = h + self.time(t)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


# ---------------------------------------------------------------- VAE (factor 2^(len(blocks)-1))

class VaeEncoder(nn.Module):
    def __init__(self, block_out_channels, latent_channels):
        super().__init__()
        ch = block_out_channels
        self.conv_in = nn.Conv2d(3, ch[0], 3, padding=1)
        layers = []
        for i in range(1, len(ch)):
            layers += [nn.Conv2d(ch[i - 1], ch[i], 3, stride=2, padding=1), ResBlock(ch[i], ch[i])]
        self.down = nn.Sequential(*layers)
        self.norm = nn.GroupNorm(groups(ch[-1]), ch[-1])
        self.conv_out = nn.Conv2d(ch[-1], 2 * latent_channels, 3, padding=1)

    def forward(self, x):
        """x [B,3,H,W] in [-1,1] -> (mean, logvar) [B,C,H/f,W/f]."""
        h = self.down(F.silu(self.conv_in(x)))
        mean, logvar = self.conv_out(F.silu(self.norm(h))).chunk(2, dim=1)
        return mean, logvar.clamp(-30, 20)


class VaeDecoder(nn.Module):
    def __init__(self, block_out_channels, latent_channels):
        super().__init__()
        ch = list(reversed(block_out_channels))
        self.conv_in = nn.Conv2d(latent_channels, ch[0], 3, padding=1)
        self.mid = ResBlock(ch[0], ch[0])
        layers = []
        for i in range(1, len(ch)):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(ch[i - 1], ch[i], 3, padding=1),
                       ResBlock(ch[i], ch[i]) if i < len(ch) - 1 else nn.Identity()]
        self.up = nn.Sequential(*layers)
        self.norm = nn.GroupNorm(groups(ch[-1]), ch[-1])
        self.conv_out = nn.Conv2d(ch[-1], 3, 3, padding=1)

    def forward(self, z):
        """z [B,C,h,w] (unscaled latents) -> image [B,3,h*f,w*f] in about [-1,1]."""
        h = self.up(self.mid(self.conv_in(z)))
        return self.conv_out(F.silu(self.norm(h)))


# ---------------------------------------------------------------- text transformer (CLIP-like)

class Attention(nn.Module):
    def __init__(self, dim, heads, context_dim=None):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(context_dim or dim, dim, bias=False)
        self.v = nn.Linear(context_dim or dim, dim, bias=False)
        self.out = nn.Linear(dim, dim)

    def forward(self, x, context=None, mask=None):
        context = x if context is None else context
        b, n, d = x.shape
        m = context.shape[1]
        hd = d // self.heads
        q = self.q(x).reshape(b, n, self.heads, hd).transpose(1, 2)
        k = self.k(context).reshape(b, m, self.heads, hd).transpose(1, 2)
        v = self.v(context).reshape(b, m, self.heads, hd).transpose(1, 2)
        w = torch.matmul(q, k.transpose(2, 3)) * (1.0 / math.sqrt(hd))
        if mask is not None:
            w = w + mask
        o = torch.matmul(w.softmax(dim=-1), v).transpose(1, 2).reshape(b, n, d)
        return self.out(o)


class TransformerLayer(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x, mask):
        x = x + self.attn(self.ln1(x), mask=mask)
        return x + self.mlp(self.ln2(x))


class TextTransformer(nn.Module):
    """CLIP's text tower: token + position embeddings, pre-LN layers with a causal mask, final LN.
    forward(ids [B,77] int64) -> (last_hidden_state [B,77,width], pooled [B,width] at the EOS token,
    found as CLIP does: the position of the highest id, EOS being the last vocabulary entry)."""

    def __init__(self, vocab_size, width, layers, heads, max_positions):
        super().__init__()
        self.token = nn.Embedding(vocab_size, width)
        self.position = nn.Parameter(torch.randn(max_positions, width) * 0.01)
        self.layers = nn.ModuleList([TransformerLayer(width, heads) for _ in range(layers)])
        self.final_ln = nn.LayerNorm(width)
        mask = torch.full((max_positions, max_positions), float("-inf")).triu(1)
        self.register_buffer("causal", mask, persistent=False)
        nn.init.normal_(self.token.weight, std=0.02)

    def forward(self, ids):
        n = ids.shape[1]
        x = self.token(ids) + self.position[:n]
        mask = self.causal[:n, :n]
        for layer in self.layers:
            x = layer(x, mask)
        x = self.final_ln(x)
        eos = ids.argmax(dim=-1)
        pooled = x[torch.arange(x.shape[0]), eos]
        return x, pooled


# ---------------------------------------------------------------- UNet with cross-attention

def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class SpatialTransformer(nn.Module):
    """Self-attention (optional) and cross-attention to the text over the pixels of a feature map."""

    def __init__(self, ch, context_dim, heads, self_attention):
        super().__init__()
        self.norm = nn.GroupNorm(groups(ch), ch)
        self.proj_in = nn.Linear(ch, ch)
        self.ln_self = nn.LayerNorm(ch) if self_attention else None
        self.self_attn = Attention(ch, heads) if self_attention else None
        self.ln_cross = nn.LayerNorm(ch)
        self.cross = Attention(ch, heads, context_dim)
        self.ln_ff = nn.LayerNorm(ch)
        self.ff = nn.Sequential(nn.Linear(ch, 2 * ch), nn.GELU(), nn.Linear(2 * ch, ch))
        self.proj_out = nn.Linear(ch, ch)

    def forward(self, x, context):
        b, c, h, w = x.shape
        t = self.proj_in(self.norm(x).reshape(b, c, h * w).transpose(1, 2))
        if self.self_attn is not None:
            t = t + self.self_attn(self.ln_self(t))
        t = t + self.cross(self.ln_cross(t), context)
        t = t + self.ff(self.ln_ff(t))
        return x + self.proj_out(t).transpose(1, 2).reshape(b, c, h, w)


class UNet(nn.Module):
    """eps = UNet(sample [B,C,h,w], timestep [B], encoder_hidden_states [B,77,D])."""

    def __init__(self, channels, latent_channels, context_dim, heads, time_dim):
        super().__init__()
        c0, c1, c2 = channels
        self.time_dim = time_dim
        self.time = nn.Sequential(nn.Linear(c0, time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim))
        self.conv_in = nn.Conv2d(latent_channels, c0, 3, padding=1)
        self.d0 = ResBlock(c0, c0, time_dim)
        self.a0 = SpatialTransformer(c0, context_dim, heads, self_attention=False)
        self.down0 = nn.Conv2d(c0, c0, 3, stride=2, padding=1)
        self.d1 = ResBlock(c0, c1, time_dim)
        self.a1 = SpatialTransformer(c1, context_dim, heads, self_attention=True)
        self.down1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)
        self.m1 = ResBlock(c1, c2, time_dim)
        self.ma = SpatialTransformer(c2, context_dim, heads, self_attention=True)
        self.m2 = ResBlock(c2, c2, time_dim)
        self.u1 = ResBlock(c2 + c1, c1, time_dim)
        self.ua1 = SpatialTransformer(c1, context_dim, heads, self_attention=True)
        self.u0 = ResBlock(c1 + c0, c0, time_dim)
        self.ua0 = SpatialTransformer(c0, context_dim, heads, self_attention=False)
        self.norm_out = nn.GroupNorm(groups(c0), c0)
        self.conv_out = nn.Conv2d(c0, latent_channels, 3, padding=1)
        self.c0 = c0

    def forward(self, sample, timestep, encoder_hidden_states):
        ctx = encoder_hidden_states
        temb = self.time(timestep_embedding(timestep, self.c0))
        h0 = self.a0(self.d0(self.conv_in(sample), temb), ctx)              # 16x16
        h1 = self.a1(self.d1(self.down0(h0), temb), ctx)                    # 8x8
        m = self.m2(self.ma(self.m1(self.down1(h1), temb), ctx), temb)      # 4x4
        u = F.interpolate(m, scale_factor=2.0, mode="nearest")
        u = self.ua1(self.u1(torch.cat([u, h1], dim=1), temb), ctx)         # 8x8
        u = F.interpolate(u, scale_factor=2.0, mode="nearest")
        u = self.ua0(self.u0(torch.cat([u, h0], dim=1), temb), ctx)         # 16x16
        return self.conv_out(F.silu(self.norm_out(u)))


# ---------------------------------------------------------------- toy CLIP

class ImageTower(nn.Module):
    def __init__(self, channels, width):
        super().__init__()
        layers, cin = [], 3
        for c in channels:
            layers += [nn.Conv2d(cin, c, 3, stride=2, padding=1), nn.GroupNorm(groups(c), c), nn.SiLU(),
                       nn.Conv2d(c, c, 3, padding=1), nn.GroupNorm(groups(c), c), nn.SiLU()]
            cin = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin * 4, width)  # 2x2 spatial pooling keeps coarse position

    def forward(self, pixels):
        h = self.features(pixels)
        h = F.adaptive_avg_pool2d(h, 2).flatten(1)
        return self.head(h)


class ToyClip(nn.Module):
    """text_embeds = normalize(proj(text pooled)); image_embeds = normalize(proj(image tower));
    logits = exp(logit_scale) * text_embeds @ image_embeds.T."""

    def __init__(self, vocab_size, width, layers, heads, image_channels, projection_dim, image_size):
        super().__init__()
        self.text = TextTransformer(vocab_size, width, layers, heads, 77)
        self.text_projection = nn.Linear(width, projection_dim, bias=False)
        self.vision = ImageTower(image_channels, width)
        self.visual_projection = nn.Linear(width, projection_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def encode_text(self, ids):
        return F.normalize(self.text_projection(self.text(ids)[1]), dim=-1)

    def encode_image(self, pixel_values):
        return F.normalize(self.visual_projection(self.vision(pixel_values)), dim=-1)
