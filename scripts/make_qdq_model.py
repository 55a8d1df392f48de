#!/usr/bin/python3
"""Builds a QDQ (QuantizeLinear/DequantizeLinear) int8 model from a float ONNX model, laid out like ONNX
Runtime's static QDQ quantizer output, for testing and timing Verge's int8 runtime. NOT a quantizer: scales
are fixed, calibration-free guesses (outputs are not accurate); the structure is what matters:

  - Conv / Gemm / MatMul with constant weights: weights int8 symmetric per output channel (DequantizeLinear
    axis 0; MatMul and Gemm without transB: axis 1), bias int32 with scale x_scale * w_scale, zero point 0.
  - every float activation tensor gets one Q -> DQ pair (uint8): after Relu / Clip(0, ..) with zero point 0,
    otherwise zero point 128. A Conv / Gemm / Add output whose only consumer is Relu / Clip is not quantized (the
    pair follows the activation), as ORT lays it out. Graph outputs keep their names.

Run BatchNormalization folding first (`verge optimize --level basic`), as ORT's pre-processing does.

usage: scripts/make_qdq_model.py IN.onnx OUT.onnx [--input-scale S] [--act-scale S]
"""
import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("--input-scale", type=float, default=1 / 64)
    ap.add_argument("--act-scale", type=float, default=0.05)
    a = ap.parse_args()

    m = onnx.load(a.inp)
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    producer = {o: n for n in g.node for o in n.output}
    new_nodes, new_inits = [], []

    def const(name, arr):
        new_inits.append(numpy_helper.from_array(arr, name))
        return name

    # Activation scales (set as tensors are quantized, so weights/bias can use x_scale); ops that only
    # move or select values keep their input's parameters, as ORT's quantizer does.
    act_scale = {}
    act_params = {}
    SAME_SCALE = {"MaxPool", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Concat"}

    def scale_of(t):
        p = producer.get(t)
        if p is None:
            return a.input_scale, 128
        if p.op_type in SAME_SCALE:
            src = p.input[0][:-3] if p.input[0].endswith("_dq") else p.input[0]
            return act_params[src] if src in act_params else scale_of(src)
        if p.op_type == "Relu":
            return a.act_scale, 0
        if p.op_type == "Clip" and len(p.input) > 2 and p.input[1] in inits and p.input[2] in inits:
            lo = float(numpy_helper.to_array(inits[p.input[1]]))
            hi = float(numpy_helper.to_array(inits[p.input[2]]))
            if lo >= 0:
                return hi / 255, 0  # what min/max calibration gives a saturated ReLU6
        return 2 * a.act_scale, 128

    def skip(t):
        if t in inits:
            return True
        p = producer.get(t)
        if p is not None and p.op_type in ("Conv", "Gemm", "MatMul", "Add"):
            cs = consumers.get(t, [])
            outputs = [o.name for o in g.output]
            return len(cs) == 1 and cs[0].op_type in ("Relu", "Clip") and t not in outputs
        return False

    float_tensors = set(i.name for i in g.input if i.name not in inits)
    for n in g.node:
        if n.op_type in ("Shape", "Constant"):
            continue
        for o in n.output:
            float_tensors.add(o)
    for n in g.node:  # integer-valued outputs (Shape and what derives from it) are left alone
        if n.op_type == "Shape":
            float_tensors.discard(n.output[0])

    graph_outputs = [o.name for o in g.output]
    rename = {}
    for t in sorted(float_tensors):
        if skip(t) or t not in consumers and t not in graph_outputs:
            continue
        if any(c.op_type in ("Reshape",) and list(c.input).index(t) == 1 for c in consumers.get(t, [])):
            continue  # a shape operand
        s, zp = scale_of(t)
        act_scale[t] = s
        act_params[t] = (s, zp)
        sn = const(t + "_qscale", np.array(s, dtype=np.float32))
        zn = const(t + "_qzp", np.array(zp, dtype=np.uint8))
        src = t
        if t in graph_outputs:
            src = t + "_float"
            rename[t] = src
        new_nodes.append(helper.make_node("QuantizeLinear", [src, sn, zn], [t + "_q"], name=t + "_Q"))
        new_nodes.append(helper.make_node("DequantizeLinear", [t + "_q", sn, zn],
                                          [t if t in graph_outputs else t + "_dq"], name=t + "_DQ"))
        for c in consumers.get(t, []):
            for k, i in enumerate(c.input):
                if i == t:
                    c.input[k] = t + "_dq"
    for n in g.node:
        for k, o in enumerate(n.output):
            if o in rename:
                n.output[k] = rename[o]

    for n in g.node:
        if n.op_type not in ("Conv", "Gemm", "MatMul") or len(n.input) < 2 or n.input[1] not in inits:
            continue
        w = numpy_helper.to_array(inits[n.input[1]]).astype(np.float32)
        trans_b = any(at.name == "transB" and at.i == 1 for at in n.attribute)
        axis = 0 if n.op_type == "Conv" or (n.op_type == "Gemm" and trans_b) else 1
        red = tuple(d for d in range(w.ndim) if d != axis)
        ws = np.maximum(np.abs(w).max(axis=red), 1e-8) / 127
        shape = [1] * w.ndim
        shape[axis] = -1
        wq = np.clip(np.rint(w / ws.reshape(shape)), -127, 127).astype(np.int8)
        base = n.name or n.output[0]
        wsn = const(base + "_wscale", ws.astype(np.float32))
        wzn = const(base + "_wzp", np.zeros(ws.shape, dtype=np.int8))
        wqn = const(base + "_wq", wq)
        new_nodes.append(helper.make_node("DequantizeLinear", [wqn, wsn, wzn], [base + "_wdq"], axis=axis))
        n.input[1] = base + "_wdq"
        x = n.input[0]
        xs = act_scale.get(x[:-3] if x.endswith("_dq") else x)
        if len(n.input) > 2 and n.input[2] in inits and xs is not None:
            b = numpy_helper.to_array(inits[n.input[2]]).astype(np.float64).reshape(-1)
            bs = (np.float32(xs) * ws.astype(np.float32)).astype(np.float32)
            if b.size == bs.size:
                bq = np.clip(np.rint(b / bs), -2**31, 2**31 - 1).astype(np.int32)
                bqn = const(base + "_bq", bq)
                bsn = const(base + "_bscale", bs)
                new_nodes.append(helper.make_node("DequantizeLinear", [bqn, bsn], [base + "_bdq"], axis=0))
                n.input[2] = base + "_bdq"

    used = set(i for n in list(g.node) + new_nodes for i in n.input)
    kept = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(kept + new_inits)
    nodes = list(g.node) + new_nodes
    available = set(inits) | set(t.name for t in new_inits) | set(i.name for i in g.input) | {""}
    ordered = []
    while nodes:  # topological order (ONNX requires it)
        ready = [n for n in nodes if all(i in available for i in n.input)]
        if not ready:
            raise SystemExit("cycle or undefined input")
        for n in ready:
            available.update(n.output)
        ordered += ready
        nodes = [n for n in nodes if n not in ready]
    del g.node[:]
    g.node.extend(ordered)
    if m.opset_import[0].version < 13:
        m.opset_import[0].version = 13
    onnx.save(m, a.out)


if __name__ == "__main__":
    main()
