// models.mjs -- the benchmark workloads as ONNX graphs, written with onnx-proto
// the way an exporter (torch.onnx) writes them: MatMul, Add, Transpose,
// Reshape, Softmax, Erf (GELU), LayerNormalization (opset 17).  ONNX Runtime's
// graph optimizer then fuses what it knows (FusedMatMul for the transposes and
// scale, BiasGelu, SkipLayerNormalization, ...): that is the peer as users get it.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { onnx } = require('onnx-proto');

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const AT = onnx.AttributeProto.AttributeType;

function valueInfo(name, shape) {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: shape.map((d) => ({ dimValue: d })) } } },
  });
}

function floatTensor(name, shape, data) {
  const f = data instanceof Float32Array ? data : Float32Array.from(data);
  return onnx.TensorProto.create({
    name, dims: shape, dataType: FLOAT,
    rawData: new Uint8Array(f.buffer, f.byteOffset, f.byteLength),
  });
}

function boolTensor(name, shape, values) {
  return onnx.TensorProto.create({
    name, dims: shape, dataType: onnx.TensorProto.DataType.BOOL,
    rawData: Uint8Array.from(values),
  });
}

function int64Tensor(name, values) {
  const b = new BigInt64Array(values.map(BigInt));
  return onnx.TensorProto.create({
    name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(b.buffer),
  });
}

function attr(name, v) {
  if (Array.isArray(v)) return { name, type: AT.INTS, ints: v };
  if (Number.isInteger(v) && name !== 'epsilon') return { name, type: AT.INT, i: v };
  return { name, type: AT.FLOAT, f: v };
}

class Graph {
  constructor() { this.nodes = []; this.inits = []; this.inputs = []; this.outputs = []; this.n = 0; }
  input(name, shape) { this.inputs.push(valueInfo(name, shape)); return name; }
  output(name, shape) { this.outputs.push(valueInfo(name, shape)); }
  init(name, shape, data) { this.inits.push(floatTensor(name, shape, data)); return name; }
  ints(values) { const n = `c${this.n++}`; this.inits.push(int64Tensor(n, values)); return n; }
  scalar(v) { const n = `c${this.n++}`; this.inits.push(floatTensor(n, [], [v])); return n; }
  bools(name, shape, values) { this.inits.push(boolTensor(name, shape, values)); return name; }
  op(type, inputs, attrs = {}, out) {
    out = out || `t${this.n++}`;
    this.nodes.push(onnx.NodeProto.create({
      opType: type, input: inputs, output: [out], name: `${type}_${this.n++}`,
      attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)),
    }));
    return out;
  }
  encode(name) {
    const model = onnx.ModelProto.create({
      irVersion: 8, producerName: 'cascade-bench', opsetImport: [{ domain: '', version: 17 }],
      graph: { name, node: this.nodes, initializer: this.inits, input: this.inputs, output: this.outputs },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

// C[M,N] = A[M,K] B[K,N]: both operands are graph inputs, as in Cascade's
// matmul.ein and the OpenBLAS peer (no weight pre-packing at load time).
export function gemm(M, K, N) {
  const g = new Graph();
  g.input('A', [M, K]); g.input('B', [K, N]);
  g.op('MatMul', ['A', 'B'], {}, 'C');
  g.output('C', [M, N]);
  return { bytes: g.encode('gemm'), inputs: { A: [M, K], B: [K, N] }, output: 'C' };
}

// Multi-head attention in the layout of the Cascade workload:
// Q[H,E,P], K[H,E,M], V[H,F,M] -> AV[H,F,P], softmax over m.
export function attention(H, E, P) {
  const g = new Graph();
  g.input('Q', [H, E, P]); g.input('K', [H, E, P]); g.input('V', [H, E, P]);
  const qt = g.op('Transpose', ['Q'], { perm: [0, 2, 1] });          // [H,P,E]
  const s = g.op('MatMul', [qt, 'K']);                               // [H,P,M]
  const ss = g.op('Mul', [s, g.scalar(1 / Math.sqrt(E))]);
  const a = g.op('Softmax', [ss], { axis: -1 });
  const vt = g.op('Transpose', ['V'], { perm: [0, 2, 1] });          // [H,M,F]
  const o = g.op('MatMul', [a, vt]);                                 // [H,P,F]
  g.op('Transpose', [o], { perm: [0, 2, 1] }, 'AV');                 // [H,F,P]
  g.output('AV', [H, E, P]);
  const sh = [H, E, P];
  return { bytes: g.encode('attention'), inputs: { Q: sh, K: sh, V: sh }, output: 'AV' };
}

// One BERT encoder layer, post-LN, with the math of examples/bert_layer.ein.
// `w` maps the .ein's tensor names to Float32Arrays in the .ein's layouts
// (nn.Linear [out, in]); like torch.onnx, the graph stores W^T [in, out] as
// the MatMul initializer.  X is fed as [1, P, D] (batch 1).
export function bertLayer(P, D, H, E, F, w) {
  const g = new Graph();
  g.input('X', [1, P, D]);
  addBertLayer(g, 'X', P, D, H, E, F, w, '', 'Y');
  g.output('Y', [1, P, D]);
  return { bytes: g.encode('bert_layer'), inputs: { X: [1, P, D] }, output: 'Y' };
}

// A whole BERT encoder: `layers` layers chained, layer n's weights w[n]
// (initializers named "L<n>.<name>").
export function bertEncoder(P, D, H, E, F, layers) {
  const g = new Graph();
  let x = g.input('X', [1, P, D]);
  layers.forEach((w, n) => {
    x = addBertLayer(g, x, P, D, H, E, F, w, `L${n}.`, n === layers.length - 1 ? 'Y' : undefined);
  });
  g.output('Y', [1, P, D]);
  return { bytes: g.encode('bert_encoder'), inputs: { X: [1, P, D] }, output: 'Y' };
}

// Appends one post-LN BERT layer reading `x` to `g`; returns its output.
function addBertLayer(g, x, P, D, H, E, F, w, prefix, out) {
  const HE = H * E;
  const T = (name, rows, cols) => {             // [rows=out, cols=in] -> [in, out]
    const src = w[name], dst = new Float32Array(rows * cols);
    for (let r = 0; r < rows; ++r) for (let c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
    return g.init(prefix + name, [cols, rows], dst);
  };
  const V = (name, n) => g.init(prefix + name, [n], w[name]);
  const linear = (x, W, out, inn, B) => g.op('Add', [g.op('MatMul', [x, T(W, out, inn)]), V(B, out)]);
  const heads = (x, perm) => g.op('Transpose', [g.op('Reshape', [x, g.ints([1, P, H, E])])], { perm });
  const q = heads(linear(x, 'WQ', HE, D, 'BQ'), [0, 2, 1, 3]);        // [1,H,P,E]
  const k = heads(linear(x, 'WK', HE, D, 'BK'), [0, 2, 3, 1]);        // [1,H,E,M]
  const v = heads(linear(x, 'WV', HE, D, 'BV'), [0, 2, 1, 3]);        // [1,H,M,E]
  const s = g.op('Div', [g.op('MatMul', [q, k]), g.scalar(Math.sqrt(E))]);
  const a = g.op('Softmax', [s], { axis: -1 });
  const ctx = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [a, v])], { perm: [0, 2, 1, 3] }),
    g.ints([1, P, HE])]);
  const r1 = g.op('Add', [linear(ctx, 'WO', D, HE, 'BO'), x]);
  const x1 = g.op('LayerNormalization', [r1, V('G1', D), V('BE1', D)], { axis: -1, epsilon: 1e-12 });
  const fi = linear(x1, 'WI', F, D, 'BI');
  const gelu = g.op('Mul', [g.op('Mul', [fi, g.op('Add', [g.op('Erf', [g.op('Div', [fi, g.scalar(Math.SQRT2)])]),
    g.scalar(1)])]), g.scalar(0.5)]);
  const r2 = g.op('Add', [linear(gelu, 'W2', D, F, 'B2'), x1]);
  return g.op('LayerNormalization', [r2, V('G2', D), V('BE2', D)], { axis: -1, epsilon: 1e-12 }, out);
}

// One GPT-2 block (pre-LN, causal self-attention, tanh-GELU MLP) as
// torch.onnx writes transformers' GPT2Block: Conv1D weights [in, out] as
// MatMul initializers, the fused c_attn output sliced into q, k, v, the
// causal mask a constant bool [1, 1, P, P] applied with Where and
// finfo(float32).min, GELU as 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
// X is [1, P, D]; `w` maps GPT2_WEIGHTS to Float32Arrays.
export function gpt2Block(P, D, H, E, F, w) {
  const g = new Graph();
  const HE = H * E;
  g.input('X', [1, P, D]);
  const W = (name, shape) => g.init(name, shape, w[name]);
  const ln = (x, G, B) => g.op('LayerNormalization', [x, W(G, [D]), W(B, [D])], { axis: -1, epsilon: 1e-5 });
  const h1 = ln('X', 'ln_1.weight', 'ln_1.bias');
  const qkv = g.op('Add', [g.op('MatMul', [h1, W('attn.c_attn.weight', [D, 3 * HE])]),
    W('attn.c_attn.bias', [3 * HE])]);                                   // [1,P,3HE]
  const part = (i) => g.op('Slice', [qkv, g.ints([i * HE]), g.ints([(i + 1) * HE]), g.ints([2])]);
  const heads = (x, perm) => g.op('Transpose', [g.op('Reshape', [x, g.ints([1, P, H, E])])], { perm });
  const q = heads(part(0), [0, 2, 1, 3]);                                // [1,H,P,E]
  const k = heads(part(1), [0, 2, 3, 1]);                                // [1,H,E,M]
  const v = heads(part(2), [0, 2, 1, 3]);                                // [1,H,M,E]
  const s = g.op('Div', [g.op('MatMul', [q, k]), g.scalar(Math.sqrt(E))]);
  const causal = [];
  for (let p = 0; p < P; ++p) for (let m = 0; m < P; ++m) causal.push(m <= p ? 1 : 0);
  const masked = g.op('Where', [g.bools('bias', [1, 1, P, P], causal), s, g.scalar(-3.4028234663852886e38)]);
  const a = g.op('Softmax', [masked], { axis: -1 });
  const ctx = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [a, v])], { perm: [0, 2, 1, 3] }),
    g.ints([1, P, HE])]);
  const r1 = g.op('Add', [g.op('Add', [g.op('MatMul', [ctx, W('attn.c_proj.weight', [HE, D])]),
    W('attn.c_proj.bias', [D])]), 'X']);
  const h2 = ln(r1, 'ln_2.weight', 'ln_2.bias');
  const fc = g.op('Add', [g.op('MatMul', [h2, W('mlp.c_fc.weight', [D, F])]), W('mlp.c_fc.bias', [F])]);
  const inner = g.op('Mul', [g.op('Add', [fc, g.op('Mul', [g.op('Pow', [fc, g.scalar(3)]), g.scalar(0.044715)])]),
    g.scalar(Math.sqrt(2 / Math.PI))]);
  const gelu = g.op('Mul', [g.op('Mul', [fc, g.scalar(0.5)]), g.op('Add', [g.op('Tanh', [inner]), g.scalar(1)])]);
  g.op('Add', [g.op('Add', [g.op('MatMul', [gelu, W('mlp.c_proj.weight', [F, D])]), W('mlp.c_proj.bias', [D])]), r1],
    {}, 'Y');
  g.output('Y', [1, P, D]);
  return { bytes: g.encode('gpt2_block'), inputs: { X: [1, P, D] }, output: 'Y' };
}

export const GPT2_WEIGHTS = {
  'ln_1.weight': (D) => D, 'ln_1.bias': (D) => D,
  'attn.c_attn.weight': (D, HE) => D * 3 * HE, 'attn.c_attn.bias': (D, HE) => 3 * HE,
  'attn.c_proj.weight': (D, HE) => HE * D, 'attn.c_proj.bias': (D) => D,
  'ln_2.weight': (D) => D, 'ln_2.bias': (D) => D,
  'mlp.c_fc.weight': (D, HE, F) => D * F, 'mlp.c_fc.bias': (D, HE, F) => F,
  'mlp.c_proj.weight': (D, HE, F) => F * D, 'mlp.c_proj.bias': (D) => D,
};

// The HF checkpoint name of each BERT_WEIGHTS entry, relative to
// "bert.encoder.layer.N.".
export const BERT_HF_NAMES = {
  WQ: 'attention.self.query.weight', BQ: 'attention.self.query.bias',
  WK: 'attention.self.key.weight', BK: 'attention.self.key.bias',
  WV: 'attention.self.value.weight', BV: 'attention.self.value.bias',
  WO: 'attention.output.dense.weight', BO: 'attention.output.dense.bias',
  G1: 'attention.output.LayerNorm.weight', BE1: 'attention.output.LayerNorm.bias',
  WI: 'intermediate.dense.weight', BI: 'intermediate.dense.bias',
  W2: 'output.dense.weight', B2: 'output.dense.bias',
  G2: 'output.LayerNorm.weight', BE2: 'output.LayerNorm.bias',
};

export const BERT_WEIGHTS = ['WQ', 'BQ', 'WK', 'BK', 'WV', 'BV', 'WO', 'BO', 'G1', 'BE1',
  'WI', 'BI', 'W2', 'B2', 'G2', 'BE2'];
