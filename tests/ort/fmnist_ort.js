// Shared by the ONNX Runtime Fashion-MNIST checks (quantized_fmnist.js, qat_fmnist.js): arguments, IDX
// reading, top-1 of a model in ORT (optionally saving ORT's optimized graph) and in `verge eval`.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const {execFileSync} = require('child_process');

// node SCRIPT VERGE_BIN REPO_DIR [DATA_DIR] -> {verge, repo, dataDir, ort}; exits when ORT is missing.
function setup(argv) {
  const [vergeArg, repoArg, dataDir = '/usr/share/datasets/fashion-mnist'] = argv.slice(2);
  const verge = path.resolve(vergeArg), repo = path.resolve(repoArg);
  const ortDir = path.join(repo, 'bench', 'node_modules', 'onnxruntime-node');
  if (!fs.existsSync(ortDir)) {
    console.error('ONNX Runtime is missing: run `npm install --ignore-scripts` in bench/ (scripts/test.sh does)');
    process.exit(1);
  }
  return {verge, repo, dataDir, ort: require(ortDir)};
}

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

async function ortTop1(ort, model, images, labels, optimizedPath) {
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

// `verge eval --json` top-1 of `model` on the test split of `dataDir`.
function vergeTop1(verge, model, dataDir) {
  const out = execFileSync(verge, ['eval', model, '--data', dataDir, '--json']).toString().trim().split('\n');
  return JSON.parse(out[out.length - 1]).top1;
}

// The 10,000 Fashion-MNIST test images and labels.
function testSet(dataDir) {
  return {images: readIdx(path.join(dataDir, 't10k-images-idx3-ubyte.gz')),
          labels: readIdx(path.join(dataDir, 't10k-labels-idx1-ubyte.gz'))};
}

module.exports = {setup, readIdx, ortTop1, vergeTop1, testSet};
