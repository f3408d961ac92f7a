"""The demo model's networks, kept importable so that gradient graphs (CLIP guidance through the
VAE decoder, for instance) can be exported later from the committed state_dicts:

    dec = VaeDecoder(**CONFIG["vae_decoder"]); dec.load_state_dict(torch.load("checkpoints/vae_decoder.pt"))

All attention is written with plain matmuls so the ONNX graphs stay simple.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {
    "vae": {"block_out_channels": [16, 32, 64], "latent_channels": 4},
    # Trained after the VAE, on its frozen encoder's latents (train.py, "decoder"): wider, and with a
    # ResBlock at full resolution, so small shapes keep their corners.
    "vae_decoder": {"block_out_channels": [32, 64, 128], "latent_channels": 4, "full_res_block": True},
    "text": {"vocab_size": 0, "width": 96, "layers": 2, "heads": 4, "max_positions": 77},
    "unet": {"channels": [32, 64, 96], "latent_channels": 4, "context_dim": 96, "heads": 4, "time_dim": 128,
             "full_res_attention": False},
    "clip": {"width": 96, "layers": 2, "heads": 4, "image_channels": [32, 64, 96], "projection_dim": 64,
             "image_size": 64},
}


TRAIN_STEPS = 1000
BETA_START, BETA_END = 0.00085, 0.012


def alphas_cumprod():
    """SD's noise schedule: scaled_linear betas from 0.00085 to 0.012 over 1000 steps; [1000] float32."""
    betas = torch.linspace(BETA_START ** 0.5, BETA_END ** 0.5, TRAIN_STEPS, dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, 0).float()


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
    """full_res_block: a ResBlock at the picture's own resolution too. The first decoder (16 channels
    there, no block) drew small triangles and squares as blobs that no checker could tell apart."""

    def __init__(self, block_out_channels, latent_channels, full_res_block=False):
        super().__init__()
        ch = list(reversed(block_out_channels))
        self.conv_in = nn.Conv2d(latent_channels, ch[0], 3, padding=1)
        self.mid = ResBlock(ch[0], ch[0])
        layers = []
        for i in range(1, len(ch)):
            last = i == len(ch) - 1
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(ch[i - 1], ch[i], 3, padding=1),
                       ResBlock(ch[i], ch[i]) if not last or full_res_block else nn.Identity()]
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
        pooled = x[torch.arange(x.shape[0], device=x.device), eos]
        return x, pooled


# ---------------------------------------------------------------- UNet with cross-attention

def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


COORD_FEATURES = 10


def coord_features(h, w, device=None):
    """[h*w, 10]: x, y in (-1, 1) and their sines/cosines at two frequencies, per pixel (row-major).
    Computed from the feature map's size, so the exported UNet still takes any latent size."""
    ys = (torch.arange(h, dtype=torch.float32, device=device) + 0.5) * (2.0 / h) - 1.0
    xs = (torch.arange(w, dtype=torch.float32, device=device) + 0.5) * (2.0 / w) - 1.0
    yy = ys[:, None].expand(h, w).reshape(-1)
    xx = xs[None, :].expand(h, w).reshape(-1)
    feats = [xx, yy]
    for k in (1.0, 2.0):
        for c in (xx, yy):
            feats += [torch.sin(math.pi * k * c), torch.cos(math.pi * k * c)]
    return torch.stack(feats, dim=-1)


class SpatialTransformer(nn.Module):
    """Self-attention (optional) and cross-attention to the text over the pixels of a feature map.
    Each pixel's token also gets a learned projection of its coordinates: "on the left" is then
    a direction the cross-attention can read, not something the convolutions must infer from the
    zero padding (SD learns that from far more data than this model sees)."""

    def __init__(self, ch, context_dim, heads, self_attention):
        super().__init__()
        self.norm = nn.GroupNorm(groups(ch), ch)
        self.proj_in = nn.Linear(ch, ch)
        self.pos = nn.Linear(COORD_FEATURES, ch)
        self.ln_self = nn.LayerNorm(ch) if self_attention else None
        self.self_attn = Attention(ch, heads) if self_attention else None
        self.ln_cross = nn.LayerNorm(ch)
        self.cross = Attention(ch, heads, context_dim)
        self.ln_ff = nn.LayerNorm(ch)
        self.ff = nn.Sequential(nn.Linear(ch, 2 * ch), nn.GELU(), nn.Linear(2 * ch, ch))
        self.proj_out = nn.Linear(ch, ch)

    def forward(self, x, context):
        b, c, h, w = x.shape
        t = self.proj_in(self.norm(x).reshape(b, c, h * w).transpose(1, 2)) + self.pos(coord_features(h, w, x.device))
        if self.self_attn is not None:
            t = t + self.self_attn(self.ln_self(t))
        t = t + self.cross(self.ln_cross(t), context)
        t = t + self.ff(self.ln_ff(t))
        return x + self.proj_out(t).transpose(1, 2).reshape(b, c, h, w)


class UNet(nn.Module):
    """eps = UNet(sample [B,C,h,w], timestep [B], encoder_hidden_states [B,77,D]).

    Besides cross-attention, the caption reaches every ResNet block through the timestep embedding:
    an attention-pooled summary of encoder_hidden_states (one learned query) goes through an MLP and
    is added to it, as SDXL adds its pooled text embedding. Global attributes (background and object
    color, shape, size) are then cheap to learn; the ONNX contract stays SD 1.x's.

    The output is epsilon, as the bundle's scheduler config says, but the last layer predicts v
    (Salimans & Ho 2022) and the graph converts: eps = sqrt(a) * v + sqrt(1 - a) * x_t, with a the
    schedule's alpha-bar at the timestep (interpolated for fractional ones). At t = 999 a direct
    epsilon output must be right to within 1 % for the picture it implies (x0 = (x_t - 0.998 eps) /
    0.069) to be right; predicting v there means predicting the picture itself, so the caption's
    effect on layout and colors is learned within this model's small training budget."""

    def __init__(self, channels, latent_channels, context_dim, heads, time_dim, full_res_attention=True,
                 extra_full_res_blocks=0):
        super().__init__()
        # Kept so a checkpoint and the export can say which UNet this is (train.py --unet-channels).
        self.config = {"channels": list(channels), "latent_channels": latent_channels, "context_dim": context_dim,
                       "heads": heads, "time_dim": time_dim, "full_res_attention": full_res_attention}
        if extra_full_res_blocks:
            self.config["extra_full_res_blocks"] = extra_full_res_blocks
        c0, c1, c2 = channels
        self.time_dim = time_dim
        self.time = nn.Sequential(nn.Linear(c0, time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim))
        self.pool_query = nn.Parameter(torch.zeros(context_dim))
        self.text_pool = nn.Sequential(nn.Linear(context_dim, time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim))
        self.conv_in = nn.Conv2d(latent_channels, c0, 3, padding=1)
        self.d0 = ResBlock(c0, c0, time_dim)
        # Attention at the latent's full resolution costs more than all the convolutions at this
        # size; the demo model attends at 1/2 and 1/4 only, where its 3x3 grid of places still shows.
        self.a0 = SpatialTransformer(c0, context_dim, heads, self_attention=False) if full_res_attention else None
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
        # More depth where the output is drawn, at the latent's full 16x16: small shapes' corners are a
        # latent pixel or two (finetune.py --deepen adds them to a trained UNet, initialised as identities).
        self.u0_extra = nn.ModuleList(ResBlock(c0, c0, time_dim) for _ in range(extra_full_res_blocks))
        self.ua0 = SpatialTransformer(c0, context_dim, heads, self_attention=False) if full_res_attention else None
        self.norm_out = nn.GroupNorm(groups(c0), c0)
        self.conv_out = nn.Conv2d(c0, latent_channels, 3, padding=1)
        self.c0 = c0
        self.register_buffer("alphas_cumprod", alphas_cumprod(), persistent=False)

    def alpha_bar(self, timestep):
        """[B] alpha-bar at each (possibly fractional) timestep, linear between table entries."""
        t = timestep.float().clamp(0, TRAIN_STEPS - 1)
        low = t.floor()
        frac = t - low
        i0 = low.long()
        i1 = (i0 + 1).clamp(max=TRAIN_STEPS - 1)
        return self.alphas_cumprod[i0] * (1 - frac) + self.alphas_cumprod[i1] * frac

    def forward(self, sample, timestep, encoder_hidden_states):
        ctx = encoder_hidden_states
        weights = torch.matmul(ctx, self.pool_query).mul(1.0 / math.sqrt(ctx.shape[-1])).softmax(dim=1)  # [B,77]
        pooled = torch.matmul(weights.unsqueeze(1), ctx).squeeze(1)                                   # [B,D]
        temb = self.time(timestep_embedding(timestep, self.c0)) + self.text_pool(pooled)
        h0 = self.d0(self.conv_in(sample), temb)                            # 16x16
        h0 = h0 if self.a0 is None else self.a0(h0, ctx)
        h1 = self.a1(self.d1(self.down0(h0), temb), ctx)                    # 8x8
        m = self.m2(self.ma(self.m1(self.down1(h1), temb), ctx), temb)      # 4x4
        u = F.interpolate(m, scale_factor=2.0, mode="nearest")
        u = self.ua1(self.u1(torch.cat([u, h1], dim=1), temb), ctx)         # 8x8
        u = F.interpolate(u, scale_factor=2.0, mode="nearest")
        u = self.u0(torch.cat([u, h0], dim=1), temb)                        # 16x16
        for block in self.u0_extra:
            u = block(u, temb)
        u = u if self.ua0 is None else self.ua0(u, ctx)
        v = self.conv_out(F.silu(self.norm_out(u)))
        a = self.alpha_bar(timestep).view(-1, 1, 1, 1)
        return a.sqrt() * v + (1 - a).sqrt() * sample


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
