#!/usr/bin/env node
// ONNX Runtime runs Verge's QDQ model: `verge quantize` quantizes the Fashion-MNIST CNN with 512 train
// images; ORT (bench/node_modules/onnxruntime-node) and `verge eval` then score the 10,000 test images.
// The same for `verge quantize --dynamic`. Passes when the two top-1 agree within 0.1 pt, the drop vs fp32 is <= 0.3 pt, and ORT fused the QDQ
// pairs into integer ops (its optimized graph has QLinearConv).
//   node tests/ort/quantized_fmnist.js VERGE_BIN REPO_DIR [DATA_DIR]
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const {execFileSync} = require('child_process');
const {setup, ortTop1, vergeTop1, testSet} = require('./fmnist_ort');

const {verge, repo, dataDir, ort} = setup(process.argv);

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'verge-ort-q-'));
  try {
    const fp32 = path.join(repo, 'tests', 'data', 'fmnist_cnn.onnx');
    const q = path.join(tmp, 'fmnist_int8.onnx');
    execFileSync(verge, ['quantize', fp32, '-o', q, '--calib', dataDir, '--calib-size', '512'], {stdio: 'inherit'});
    const vergeQ = vergeTop1(verge, q, dataDir);
    const {images, labels} = testSet(dataDir);
    const optimized = path.join(tmp, 'ort_optimized.onnx');
    const ortQ = await ortTop1(ort, q, images, labels, optimized);
    const ortF = await ortTop1(ort, fp32, images, labels, null);
    // Dynamic quantization (MatMulInteger): ORT and Verge agree too.
    const qd = path.join(tmp, 'fmnist_dynamic.onnx');
    execFileSync(verge, ['quantize', fp32, '-o', qd, '--dynamic'], {stdio: 'inherit'});
    const vergeDyn = vergeTop1(verge, qd, dataDir);
    const ortDyn = await ortTop1(ort, qd, images, labels, null);
    const graph = fs.readFileSync(optimized).toString('latin1');
    const fused = ['QLinearConv', 'QGemm', 'QLinearMatMul', 'MaxPool'].filter(op => graph.includes(op));
    const result = {ort_fp32: ortF, ort_int8: ortQ, verge_int8: vergeQ, ort_dynamic: ortDyn, verge_dynamic: vergeDyn,
                    ort_fused_ops: fused,
                    size_fp32: fs.statSync(fp32).size, size_int8: fs.statSync(q).size};
    console.log(JSON.stringify(result));
    const failures = [];
    if (Math.abs(ortQ - vergeQ) > 0.001 + 1e-9) failures.push(`ORT ${ortQ} vs Verge ${vergeQ} differ by > 0.1 pt`);
    if (Math.abs(ortDyn - vergeDyn) > 0.001 + 1e-9) failures.push(`dynamic: ORT ${ortDyn} vs Verge ${vergeDyn} differ by > 0.1 pt`);
    if (ortF - ortQ > 0.003 + 1e-9) failures.push(`ORT int8 ${ortQ} drops > 0.3 pt from fp32 ${ortF}`);
    if (!fused.includes('QLinearConv')) failures.push('ORT did not fuse the QDQ convolutions into QLinearConv');
    if (result.size_fp32 < 3.5 * result.size_int8) failures.push('quantized file is not 3.5x smaller');
    for (const f of failures) console.error(`FAIL ${f}`);
    process.exit(failures.length ? 1 : 0);
  } finally {
    fs.rmSync(tmp, {recursive: true, force: true});
  }
}
main().catch(e => { console.error(`error: ${e.message}`); process.exit(1); });
