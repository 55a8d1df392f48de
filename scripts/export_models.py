#!/usr/bin/python3
"""Exports torchvision architectures to ONNX with PyTorch's own outputs, for Verge's model tests.

For each architecture: seeded random weights; a few training-mode forward passes so BatchNorm running
statistics are realistic (with the (0, 1) defaults activations vanish and comparisons mean nothing); then
eval mode, ONNX export (opset 13, input `input` 1x3x224x224, output `output`) and PyTorch's output on a
seeded random input. Writes OUT/<name>/{model.onnx,input.npy,output.npy}. Skips models already exported
by this same script version (delete the directory to force).

usage: scripts/export_models.py [OUT_DIR] [names...]   (default OUT_DIR: tests/models)
"""
import hashlib
import os
import sys

import numpy as np
import torch
import torchvision

ARCHS = {
    "mobilenet_v2": torchvision.models.mobilenet_v2,
    "resnet18": torchvision.models.resnet18,
    "squeezenet1_1": torchvision.models.squeezenet1_1,
    "shufflenet_v2_x1_0": torchvision.models.shufflenet_v2_x1_0,
    "efficientnet_b0": torchvision.models.efficientnet_b0,
    "mobilenet_v3_small": torchvision.models.mobilenet_v3_small,
}
STAMP = hashlib.sha256(open(__file__, "rb").read()).hexdigest()[:16]


def export(name, out_dir):
    d = os.path.join(out_dir, name)
    stamp_file = os.path.join(d, "stamp")
    if os.path.exists(stamp_file) and open(stamp_file).read() == STAMP:
        print(f"{name}: up to date")
        return
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(0)
    model = ARCHS[name]()
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(8, 3, 224, 224))
    model.eval()
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model(x)
    torch.onnx.export(model, x, os.path.join(d, "model.onnx"), opset_version=13,
                      input_names=["input"], output_names=["output"])
    np.save(os.path.join(d, "input.npy"), x.numpy())
    np.save(os.path.join(d, "output.npy"), y.numpy())
    with open(stamp_file, "w") as f:
        f.write(STAMP)
    print(f"{name}: exported (output max|y| = {float(y.abs().max()):.3f})")


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "models")
    names = sys.argv[2:] or list(ARCHS)
    torch.set_num_threads(os.cpu_count() or 1)
    for n in names:
        if n not in ARCHS:
            sys.exit(f"unknown architecture '{n}'; choose from {', '.join(ARCHS)}")
        export(n, out_dir)


if __name__ == "__main__":
    main()
