// The floor of bench/webgpu.sh: a hand-written naive WGSL GEMM, one
// invocation per output, the accumulator in a register, workgroups of 256,
// on the same Dawn adapter as Cascade (CASCADE_WEBGPU_BACKEND picks it).
//   node naive_gemm.mjs M K N RUNS
// Checks 16 outputs against a float64 dot product (relative 1e-4) and
// prints `median_ms=X` over RUNS dispatches after a warm-up.
import { openAdapter } from '../../runtime/webgpu/node/dawn.mjs';

const [M, K, N, runs] = process.argv.slice(2).map(Number);
const { adapter, name } = await openAdapter();
const device = await adapter.requestDevice({ requiredLimits: {
  maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256 } });
const code = `
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3<u32>,
        @builtin(num_workgroups) n: vec3<u32>) {
  let id = g.x + g.y * n.x * 256u;
  if (id >= ${M * N}u) { return; }
  let m = id / ${N}u;
  let c = id % ${N}u;
  var acc = 0.0;
  for (var k = 0u; k < ${K}u; k++) {
    acc += A[m * ${K}u + k] * B[k * ${N}u + c];
  }
  C[id] = acc;
}`;
const pipeline = await device.createComputePipelineAsync({
  layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const buf = (n) => device.createBuffer({ size: n * 4, usage });
const a = buf(M * K), b = buf(K * N), c = buf(M * N);
let seed = 1;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
const ha = Float32Array.from({ length: M * K }, rand), hb = Float32Array.from({ length: K * N }, rand);
device.queue.writeBuffer(a, 0, ha);
device.queue.writeBuffer(b, 0, hb);
const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0),
  entries: [a, b, c].map((buffer, binding) => ({ binding, resource: { buffer } })) });
const groups = Math.ceil(M * N / 256), gx = Math.min(groups, 65535), gy = Math.ceil(groups / gx);
const run = async () => {
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(gx, gy);
  pass.end();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
};
await run();
const rb = device.createBuffer({ size: M * N * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
const enc = device.createCommandEncoder();
enc.copyBufferToBuffer(c, 0, rb, 0, M * N * 4);
device.queue.submit([enc.finish()]);
await rb.mapAsync(GPUMapMode.READ);
const out = new Float32Array(rb.getMappedRange().slice(0));
for (let s = 0; s < 16; s++) {
  const i = (s * 7919) % (M * N), m = Math.floor(i / N), n = i % N;
  let ref = 0, norm = 0;
  for (let k = 0; k < K; k++) { ref += ha[m * K + k] * hb[k * N + n]; norm += Math.abs(ha[m * K + k] * hb[k * N + n]); }
  if (Math.abs(out[i] - ref) > 1e-4 * norm) {
    console.error(`error: naive GEMM output ${i} is ${out[i]}, expected ${ref}`);
    process.exit(1);
  }
}
const times = [];
for (let r = 0; r < runs; r++) {
  const t0 = performance.now();
  await run();
  times.push(performance.now() - t0);
}
times.sort((x, y) => x - y);
console.log(`adapter=${name}`);
console.log(`median_ms=${times[Math.floor(times.length / 2)]}`);
process.exit(0);
