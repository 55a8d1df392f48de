#!/usr/bin/env node
// ONNX Runtime runs the QDQ model `verge qat` exports: one QAT epoch of the Fashion-MNIST CNN on the 1,000
// images of tests/data/fmnist-sample; ORT (bench/node_modules/onnxruntime-node) and `verge eval` then
// score the 10,000 test images. Passes when the two top-1 agree within 0.1 pt and ORT fused the QDQ
// convolutions into QLinearConv.
//   node tests/ort/qat_fmnist.js VERGE_BIN REPO_DIR [DATA_DIR]
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const {execFileSync} = require('child_process');
const {setup, ortTop1, vergeTop1, testSet} = require('./fmnist_ort');

const {verge, repo, dataDir, ort} = setup(process.argv);

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'verge-ort-qat-'));
  try {
    const fp32 = path.join(repo, 'tests', 'data', 'fmnist_cnn.onnx');
    const sample = path.join(repo, 'tests', 'data', 'fmnist-sample');
    const q = path.join(tmp, 'fmnist_qat.onnx');
    execFileSync(verge, ['qat', fp32, '--data', sample, '--split', 'test', '--calib-size', '512', '--threads', '2',
                         '-o', q], {stdio: 'inherit'});
    const vergeQ = vergeTop1(verge, q, dataDir);
    const {images, labels} = testSet(dataDir);
    const optimized = path.join(tmp, 'ort_optimized.onnx');
    const ortQ = await ortTop1(ort, q, images, labels, optimized);
    const graph = fs.readFileSync(optimized).toString('latin1');
    const fused = ['QLinearConv', 'QGemm', 'QLinearMatMul'].filter(op => graph.includes(op));
    console.log(JSON.stringify({ort_qat: ortQ, verge_qat: vergeQ, ort_fused_ops: fused}));
    const failures = [];
    if (Math.abs(ortQ - vergeQ) > 0.001 + 1e-9) failures.push(`ORT ${ortQ} vs Verge ${vergeQ} differ by > 0.1 pt`);
    if (!fused.includes('QLinearConv')) failures.push('ORT did not fuse the QDQ convolutions into QLinearConv');
    for (const f of failures) console.error(`FAIL ${f}`);
    process.exit(failures.length ? 1 : 0);
  } finally {
    fs.rmSync(tmp, {recursive: true, force: true});
  }
}
main().catch(e => { console.error(`error: ${e.message}`); process.exit(1); });
