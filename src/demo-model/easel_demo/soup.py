"""Averages the weights of several fine-tuned UNets ("model soup", Wortsman et al. 2022) and writes
the average into a bundle: runs continued from the same UNet stay in one basin, so their mean is a
model of its own, often better than each run.

    /usr/bin/python3 -m easel_demo.soup --bundle bundle work-a/finetune.pt work-b/finetune.pt

Each input is a finetune.py result (its EMA weights): finetune.pt, or the finetune-ckpt.pt of a run
still going (its EMA so far, for a learning curve; the UNet's shape then comes from
checkpoints/config.json, as finetune.py's own). --weights gives their shares (default equal). Only the
bundle's unet/model.onnx is replaced.
"""
import argparse
import json
import os

import torch

from .finetune import DEMO_ROOT, export_unet
from .models import UNet
from .train import log


def average(states, weights):
    """The weighted mean of state dicts with the same keys and shapes, in float64 then back."""
    keys = states[0].keys()
    for s in states[1:]:
        if s.keys() != keys:
            raise SystemExit("the runs' UNets differ in their parameters")
    out = {}
    for k in keys:
        acc = sum(w * s[k].double() for s, w in zip(states, weights))
        out[k] = acc.to(states[0][k].dtype)
    return out


def load_run(path):
    """{unet_ema, config} of a finetune.pt, or of a finetune-ckpt.pt (which keeps no config: finetune.py
    builds its UNet from checkpoints/config.json)."""
    run = torch.load(path, map_location="cpu")
    if "unet_ema" not in run:
        raise SystemExit(f"{path}: not a finetune.py result or checkpoint (no 'unet_ema')")
    if "config" not in run:
        with open(os.path.join(DEMO_ROOT, "checkpoints", "config.json")) as f:
            run = {**run, "config": json.load(f)["unet"]}
        log(f"{path}: a checkpoint at step {run.get('step', '?')}, its EMA so far")
    return run


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="finetune.pt files (finetune.py's --work results)")
    ap.add_argument("--bundle", required=True, help="the bundle whose unet/model.onnx is replaced")
    ap.add_argument("--weights", type=float, nargs="+",
                    help="shares of the runs, after them on the command line (default: equal)")
    args = ap.parse_args(argv)
    weights = args.weights or [1.0] * len(args.runs)
    if len(weights) != len(args.runs) or min(weights) < 0 or sum(weights) <= 0:
        raise SystemExit("--weights: one non-negative share per run, not all zero")
    weights = [w / sum(weights) for w in weights]
    loaded = [load_run(p) for p in args.runs]
    configs = {repr(sorted(x["config"].items())) for x in loaded}
    if len(configs) != 1:
        raise SystemExit("the runs' UNets differ in their configuration")
    unet = UNet(**loaded[0]["config"])
    unet.load_state_dict(average([x["unet_ema"] for x in loaded], weights))
    path = os.path.join(os.path.abspath(args.bundle), "unet", "model.onnx")
    export_unet(unet.eval(), path)
    log(f"wrote the mean of {len(args.runs)} runs (shares {', '.join(f'{w:.3f}' for w in weights)}) to {path}")


if __name__ == "__main__":
    main()
