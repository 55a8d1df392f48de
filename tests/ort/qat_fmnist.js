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
const zlib = require('zlib');
const {execFileSync} = require('child_process');

const [vergeArg, repoArg, dataDir = '/usr/share/datasets/fashion-mnist'] = process.argv.slice(2);
const verge = path.resolve(vergeArg), repo = path.resolve(repoArg);
const ortDir = path.join(repo, 'bench', 'node_modules', 'onnxruntime-node');
if (!fs.existsSync(ortDir)) {
  console.error('ONNX Runtime is missing: run `npm install --ignore-scripts` in bench/ (scripts/test.sh does)');
  process.exit(1);
}
const ort = require(ortDir);

function readIdx(file) {
  let b = fs.readFileSync(file);
  if (b[0] === 0x1f && b[1] === 0x8b) b = zlib.gunzipSync(b);
  const rank = b[3];
  const dims = [];
  for (let i = 0; i < rank; ++i) dims.push(b.readUInt32BE(4 + 4 * i));
  return {dims, data: b.subarray(4 + 4 * rank)};
}

function top1(logits, labels, offset, n, classes) {
  let correct = 0;
  for (let i = 0; i < n; ++i) {
    let best = 0;
    for (let k = 1; k < classes; ++k) if (logits[i * classes + k] > logits[i * classes + best]) best = k;
    correct += best === labels[offset + i];
  }
  return correct;
}

async function ortTop1(model, images, labels, optimizedPath) {
  const opts = {intraOpNumThreads: 1};
  if (optimizedPath) opts.optimizedModelFilePath = optimizedPath;
  const session = await ort.InferenceSession.create(model, opts);
  const [n, h, w] = images.dims;
  const batch = 500;
  let correct = 0;
  for (let b = 0; b < n; b += batch) {
    const x = new Float32Array(batch * h * w);
    for (let i = 0; i < x.length; ++i) x[i] = images.data[b * h * w + i] / 255;
    const out = await session.run({[session.inputNames[0]]: new ort.Tensor('float32', x, [batch, 1, h, w])});
    const logits = out[session.outputNames[0]];
    correct += top1(logits.data, labels.data, b, batch, logits.dims[1]);
  }
  return correct / n;
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'verge-ort-qat-'));
  try {
    const fp32 = path.join(repo, 'tests', 'data', 'fmnist_cnn.onnx');
    const sample = path.join(repo, 'tests', 'data', 'fmnist-sample');
    const q = path.join(tmp, 'fmnist_qat.onnx');
    execFileSync(verge, ['qat', fp32, '--data', sample, '--split', 'test', '--calib-size', '512', '--threads', '2',
                         '-o', q], {stdio: 'inherit'});
    const evalOut = execFileSync(verge, ['eval', q, '--data', dataDir, '--json']).toString().trim().split('\n');
    const vergeTop1 = JSON.parse(evalOut[evalOut.length - 1]).top1;
    const images = readIdx(path.join(dataDir, 't10k-images-idx3-ubyte.gz'));
    const labels = readIdx(path.join(dataDir, 't10k-labels-idx1-ubyte.gz'));
    const optimized = path.join(tmp, 'ort_optimized.onnx');
    const ortQ = await ortTop1(q, images, labels, optimized);
    const graph = fs.readFileSync(optimized).toString('latin1');
    const fused = ['QLinearConv', 'QGemm', 'QLinearMatMul'].filter(op => graph.includes(op));
    console.log(JSON.stringify({ort_qat: ortQ, verge_qat: vergeTop1, ort_fused_ops: fused}));
    const failures = [];
    if (Math.abs(ortQ - vergeTop1) > 0.001 + 1e-9) failures.push(`ORT ${ortQ} vs Verge ${vergeTop1} differ by > 0.1 pt`);
    if (!fused.includes('QLinearConv')) failures.push('ORT did not fuse the QDQ convolutions into QLinearConv');
    for (const f of failures) console.error(`FAIL ${f}`);
    process.exit(failures.length ? 1 : 0);
  } finally {
    fs.rmSync(tmp, {recursive: true, force: true});
  }
}
main().catch(e => { console.error(`error: ${e.message}`); process.exit(1); });
