#!/usr/bin/env node
// Runs an ONNX model with ONNX Runtime (onnxruntime-node) on .npy inputs and writes each output as
// OUT_DIR/<name>.npy (name sanitized like `verge run`). Used to check that models Verge exports load and
// compute the same in ORT.
//   node bench/ort_run.js MODEL.onnx --input NAME=X.npy [...] --output-dir DIR
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

const NPY_TYPES = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array], '|i1': ['int8', Int8Array],
  '|u1': ['uint8', Uint8Array], '<i2': ['int16', Int16Array], '<u2': ['uint16', Uint16Array],
  '<i4': ['int32', Int32Array], '<u4': ['uint32', Uint32Array], '<i8': ['int64', BigInt64Array],
  '<u8': ['uint64', BigUint64Array], '|b1': ['bool', Uint8Array],
};

function readNpy(file) {
  const b = fs.readFileSync(file);
  if (b.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = b[6];
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const off = major === 1 ? 10 : 12;
  const header = b.toString('latin1', off, off + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map(s => s.trim()).filter(s => s).map(Number);
  const [type, Arr] = NPY_TYPES[descr] || (() => { throw new Error(`${file}: dtype ${descr} unsupported`); })();
  const data = b.subarray(off + hlen);
  const copy = new Uint8Array(data.length);
  copy.set(data);
  const arr = new Arr(copy.buffer, 0, data.length / Arr.BYTES_PER_ELEMENT);
  return new ort.Tensor(type, type === 'bool' ? Uint8Array.from(arr) : arr, shape);
}

function writeNpy(file, t) {
  const entry = Object.entries(NPY_TYPES).find(([, [type]]) => type === t.type);
  if (!entry) throw new Error(`output dtype ${t.type} unsupported`);
  const dims = t.dims.length === 1 ? `${t.dims[0]},` : t.dims.join(', ');
  let header = `{'descr': '${entry[0]}', 'fortran_order': False, 'shape': (${dims}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1; pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const data = t.type === 'bool' ? Buffer.from(Uint8Array.from(t.data, v => (v ? 1 : 0))) :
      Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), data]));
}

async function main() {
  const args = process.argv.slice(2);
  const model = args[0];
  const feeds = {};
  let outDir = null;
  for (let i = 1; i < args.length; ++i) {
    if (args[i] === '--input') {
      const [name, file] = args[++i].split('=');
      feeds[name] = readNpy(file);
    } else if (args[i] === '--output-dir') {
      outDir = args[++i];
    }
  }
  const session = await ort.InferenceSession.create(model, {intraOpNumThreads: 1});
  const results = await session.run(feeds);
  if (outDir) fs.mkdirSync(outDir, {recursive: true});
  for (const name of session.outputNames) {
    const t = results[name];
    console.log(`${name}: ${t.type}[${t.dims.join('x')}]`);
    if (outDir) writeNpy(path.join(outDir, name.replace(/[^A-Za-z0-9._-]/g, '_') + '.npy'), t);
  }
}
main().catch(e => { console.error(`error: ${e.message}`); process.exit(1); });
