#!/usr/bin/python3
"""Quantized models against their fp32 model on an IDX split: top-1, argmax agreement with the fp32
model and mean KL(softmax(fp32) || softmax(model)), each model run by `verge run` (docs/training.md, QAT
"Measured"). Plain Python (no numpy): .npy files are written and read by hand.

    bench/qat_fidelity.py VERGE FP32.onnx DATA MODEL.onnx...     # DATA/t10k-{images,labels}-*-ubyte[.gz]
    bench/qat_fidelity.py --split-validation SRC DST [--hold-out 5000]

The second form writes DST as an IDX directory whose `train` split is SRC's training images but the
last N and whose `t10k` split is those N: a validation split `verge qat --data DST` trains on and
`verge eval --data DST` (or the first form) evaluates on.
"""
import argparse
import array
import gzip
import math
import os
import struct
import subprocess
import sys
import tempfile


def read_idx(data, stem):
    for name in (stem, stem + '.gz'):
        path = os.path.join(data, name)
        if os.path.exists(path):
            return (gzip.open if name.endswith('.gz') else open)(path, 'rb').read()
    sys.exit(f'{data}: no {stem}[.gz]')


def split_validation(src, dst, hold_out):
    img, lab = read_idx(src, 'train-images-idx3-ubyte'), read_idx(src, 'train-labels-idx1-ubyte')
    magic, n, h, w = struct.unpack('>IIII', img[:16])
    if magic != 2051 or hold_out <= 0 or hold_out >= n:
        sys.exit(f'{src}: not IDX images, or --hold-out outside (0, {n})')
    keep, per = n - hold_out, h * w
    os.makedirs(dst, exist_ok=True)
    for split, a, b in (('train', 0, keep), ('t10k', keep, n)):
        with open(os.path.join(dst, f'{split}-images-idx3-ubyte'), 'wb') as f:
            f.write(struct.pack('>IIII', 2051, b - a, h, w) + img[16 + a * per:16 + b * per])
        with open(os.path.join(dst, f'{split}-labels-idx1-ubyte'), 'wb') as f:
            f.write(struct.pack('>II', 2049, b - a) + lab[8 + a:8 + b])


def write_npy(path, values, shape):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % ''.join(f'{d}, ' for d in shape)
    header += ' ' * (63 - (10 + len(header)) % 64) + '\n'
    with open(path, 'wb') as f:
        f.write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(header)) + header.encode())
        array.array('f', values).tofile(f)


def logits(verge, model, npy, tmp):
    subprocess.run([verge, 'run', model, '--input', f'{INPUT}={npy}', '-o', tmp, '--threads', '2'], check=True,
                   stdout=subprocess.DEVNULL)
    outs = [n for n in os.listdir(tmp) if n.endswith('.npy')]
    raw = open(os.path.join(tmp, outs[0]), 'rb').read()
    values = array.array('f')
    values.frombytes(raw[10 + struct.unpack('<H', raw[8:10])[0]:])
    classes = len(values) // N
    return [values[i * classes:(i + 1) * classes] for i in range(N)]


def softmax(z):
    m = max(z)
    e = [math.exp(v - m) for v in z]
    s = sum(e)
    return [v / s for v in e]


def main():
    global INPUT, N
    if len(sys.argv) > 1 and sys.argv[1] == '--split-validation':
        ap = argparse.ArgumentParser()
        ap.add_argument('--split-validation', nargs=2, metavar=('SRC', 'DST'))
        ap.add_argument('--hold-out', type=int, default=5000)
        a = ap.parse_args()
        split_validation(*a.split_validation, a.hold_out)
        return
    ap = argparse.ArgumentParser()
    ap.add_argument('verge')
    ap.add_argument('fp32')
    ap.add_argument('data')
    ap.add_argument('models', nargs='+')
    ap.add_argument('--input', default='image', help='input name of the models (default image)')
    a = ap.parse_args()
    INPUT = a.input
    img, lab = read_idx(a.data, 't10k-images-idx3-ubyte'), read_idx(a.data, 't10k-labels-idx1-ubyte')[8:]
    _, N, h, w = struct.unpack('>IIII', img[:16])
    with tempfile.TemporaryDirectory() as tmp:
        npy = os.path.join(tmp, 'images.npy')
        write_npy(npy, (b / 255.0 for b in img[16:16 + N * h * w]), (N, 1, h, w))
        ref = logits(a.verge, a.fp32, npy, os.path.join(tmp, 'fp32'))
        ref_p = [softmax(z) for z in ref]
        ref_arg = [max(range(len(z)), key=z.__getitem__) for z in ref]
        for m in a.models:
            z = logits(a.verge, m, npy, os.path.join(tmp, 'm'))
            arg = [max(range(len(r)), key=r.__getitem__) for r in z]
            top1 = sum(x == y for x, y in zip(arg, lab)) / N
            agree = sum(x == y for x, y in zip(arg, ref_arg)) / N
            kl = sum(sum(p * (math.log(p) - math.log(q)) for p, q in zip(P, softmax(r)) if p > 0)
                     for P, r in zip(ref_p, z)) / N
            print(f'{m}  top1 {top1:.4f}  agree-fp32 {agree:.4f}  KL(fp32||m) {kl:.5f}')


if __name__ == '__main__':
    main()
