#!/usr/bin/env python3
"""Reproduces Easel's demo model: /usr/bin/python3 src/demo-model/train.py --out src/demo-model/bundle"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from easel_demo.train import main  # noqa: E402

if __name__ == "__main__":
    main()
