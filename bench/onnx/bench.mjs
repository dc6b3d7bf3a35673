// bench.mjs -- times one workload with ONNX Runtime (onnxruntime-node, CPU).
//
//   node bench/onnx/bench.mjs WORKLOAD THREADS RUNS [--inputs DIR] [--output FILE.npy]
//                             [--save FILE.onnx]
//                             [--save-inputs DIR]
//   WORKLOAD: gemm:M:K:N | attention:H:E:P | bert:P[:D:H:E:F] | gpt2:P[:D:H:E:F]
//             | bert-encoder:FILE.safetensors:P[:D:H:E:F:LAYERS]
//
// Builds the ONNX graph (models.mjs), opens a session with THREADS intra-op
// threads (1 inter-op thread, sequential execution, all graph optimizations),
// runs 3 warm-up calls, then RUNS timed calls; prints median_ms= and checksum=
// like the C peers.  Inputs are standard normal (a fixed seed) unless
// --inputs DIR gives DIR/NAME.npy; the BERT layer needs --inputs (its weights,
// the files openblas_bert --write-inputs writes) or uses the same fill scaled
// as BERT's initializer. The BERT encoder reads its weights by their HF names
// ("bert.encoder.layer.N....") from the safetensors file (F32), as
// examples/models/bert_base.ein does.
import fs from 'node:fs';
import ort from 'onnxruntime-node';
import { gemm, attention, bertLayer, bertEncoder, gpt2Block, BERT_WEIGHTS, BERT_HF_NAMES, GPT2_WEIGHTS } from './models.mjs';
import { readSafetensors } from './safetensors.mjs';
import { readNpy, writeNpy } from './npy.mjs';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const inputsDir = opt('--inputs'), outputPath = opt('--output'), savePath = opt('--save');
const saveInputsDir = opt('--save-inputs');
if (args.length !== 3) {
  console.error('usage: bench.mjs gemm:M:K:N|attention:H:E:P|bert:P[:D:H:E:F] THREADS RUNS [--inputs DIR] [--output F.npy] [--save F.onnx]');
  process.exit(2);
}
const [spec, threads, runs] = [args[0], Number(args[1]), Number(args[2])];
const [kind, ...dims] = spec.split(':');
const stFile = kind === 'bert-encoder' ? dims.shift() : undefined;
const d = dims.map(Number);

let seed = 12345;
function normal(n, scale = 1, offset = 0) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    // xorshift32 + Box-Muller
    const u = [0, 0].map(() => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return ((seed >>> 0) + 0.5) / 4294967296; });
    const r = Math.sqrt(-2 * Math.log(u[0])), t = 2 * Math.PI * u[1];
    a[i] = offset + scale * r * Math.cos(t);
    if (i + 1 < n) a[i + 1] = offset + scale * r * Math.sin(t);
  }
  return a;
}
const load = (name, n, scale = 1, offset = 0) => {
  if (!inputsDir) return normal(n, scale, offset);
  const { data } = readNpy(`${inputsDir}/${name}.npy`);
  if (data.length !== n) throw new Error(`${name}.npy: expected ${n} values, got ${data.length}`);
  return data;
};

let model;
if (kind === 'gemm') model = gemm(...d);
else if (kind === 'attention') model = attention(...d);
else if (kind === 'bert') {
  const [P, D = 768, H = 12, E = 64, F = 3072] = d;
  const sizes = { WQ: H * E * D, BQ: H * E, WK: H * E * D, BK: H * E, WV: H * E * D, BV: H * E,
    WO: D * H * E, BO: D, G1: D, BE1: D, WI: F * D, BI: F, W2: D * F, B2: D, G2: D, BE2: D };
  const w = {};
  for (const name of BERT_WEIGHTS) w[name] = load(name, sizes[name], 0.02, name[0] === 'G' ? 1 : 0);
  model = bertLayer(P, D, H, E, F, w);
} else if (kind === 'gpt2') {
  const [P, D = 768, H = 12, E = 64, F = 3072] = d;
  const w = {};
  for (const [name, size] of Object.entries(GPT2_WEIGHTS))
    w[name] = normal(size(D, H * E, F), 0.02, name.startsWith('ln_') && name.endsWith('weight') ? 1 : 0);
  model = gpt2Block(P, D, H, E, F, w);
} else if (kind === 'bert-encoder') {
  const [P, D = 768, H = 12, E = 64, F = 3072, L = 12] = d;
  const st = readSafetensors(stFile);
  const layers = [];
  for (let n = 0; n < L; ++n) {
    const w = {};
    for (const name of BERT_WEIGHTS) w[name] = st(`bert.encoder.layer.${n}.${BERT_HF_NAMES[name]}`);
    layers.push(w);
  }
  model = bertEncoder(P, D, H, E, F, layers);
} else {
  console.error(`unknown workload '${kind}'`);
  process.exit(2);
}
if (savePath) fs.writeFileSync(savePath, model.bytes);

const session = await ort.InferenceSession.create(model.bytes, {
  intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
  graphOptimizationLevel: 'all',
});
const feeds = {};
for (const [name, shape] of Object.entries(model.inputs)) {
  const n = shape.reduce((a, b) => a * b, 1);
  feeds[name] = new ort.Tensor('float32', load(name, n), shape);
  if (saveInputsDir) writeNpy(`${saveInputsDir}/${name}.npy`, feeds[name].data, shape);
}
let out;
for (let i = 0; i < 3; ++i) out = await session.run(feeds);
const t = [];
for (let i = 0; i < runs; ++i) {
  const t0 = process.hrtime.bigint();
  out = await session.run(feeds);
  t.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
t.sort((a, b) => a - b);
const med = runs % 2 ? t[(runs - 1) / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
const y = out[model.output];
let sum = 0;
for (const v of y.data) sum += v;
console.log(`median_ms=${med.toFixed(4)}`);
console.log(`checksum=${sum.toPrecision(6)}`);
if (outputPath) {
  const shape = kind.startsWith('bert') ? y.dims.slice(1) : y.dims; // bert: drop the batch of 1
  // (gpt2 keeps the graph's [1, P, D], as `cascade run MODEL.onnx` writes it)
  writeNpy(outputPath, y.data, shape);
}
await session.release();
