"""Easel's demo model: a synthetic world, a tiny latent diffusion model and a toy CLIP."""
