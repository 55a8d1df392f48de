#!/usr/bin/env node
// ONNX Runtime (CPU EP, onnxruntime-node from bench/node_modules) latency on one model, printed as one
// JSON line with the same keys as `verge bench --json`.
//   node bench/ort_bench.js MODEL [--threads N] [--runs N] [--warmup N] [--shape 1x3x224x224]
// Env ORT_OPT_LEVEL=disabled|basic|extended|all (default all).
'use strict';
const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

function arg(name, def) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
}

async function main() {
  const model = process.argv[2];
  const threads = +arg('--threads', '1'), runs = +arg('--runs', '20'), warmup = +arg('--warmup', '5');
  const shape = arg('--shape', null);
  const rssBefore = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: process.env.ORT_OPT_LEVEL || 'all',
  });
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const feeds = {};
  for (const name of session.inputNames) {
    const meta = Array.isArray(session.inputMetadata) ? session.inputMetadata.find(m => m.name === name) : null;
    const dims = shape ? shape.split('x').map(Number)
                       : (meta && meta.shape ? meta.shape.map(d => (typeof d === 'number' && d > 0 ? d : 1)) : [1, 3, 224, 224]);
    const n = dims.reduce((a, b) => a * b, 1);
    let seed = 42;
    const data = Float32Array.from({length: n}, () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 1073741824) - 1);
    feeds[name] = new ort.Tensor('float32', data, dims);
  }
  for (let i = 0; i < warmup; ++i) await session.run(feeds);
  const ms = [];
  for (let i = 0; i < runs; ++i) {
    const a = process.hrtime.bigint();
    await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - a) / 1e6);
  }
  ms.sort((a, b) => a - b);
  const pick = q => ms[Math.min(ms.length - 1, Math.round(q * (ms.length - 1)))];
  const peak = process.resourceUsage().maxRSS / 1024;  // KiB -> MiB
  console.log(JSON.stringify({
    engine: 'onnxruntime', model, threads, runs, median_ms: pick(0.5), p90_ms: pick(0.9), min_ms: ms[0],
    load_ms: loadMs, peak_rss_mb: peak, node_baseline_rss_mb: rssBefore / 1048576,
  }));
}
main().catch(e => { console.error(`error: ${e.message}`); process.exit(1); });
