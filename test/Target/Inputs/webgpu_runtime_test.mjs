// Unit tests of runtime/webgpu/cascade-webgpu.mjs that need no GPU: f16
// conversion against hand-computed bits, safetensors parsing of a
// hand-built file, and deviceDescriptor against fake adapters.
import assert from 'node:assert/strict';
import { toHalf, fromHalf, parseSafetensors, deviceDescriptor, CascadeError }
  from '../../../runtime/webgpu/cascade-webgpu.mjs';

// f16: 1 = 0x3c00, -2 = 0xc000, 65504 (largest) = 0x7bff, 1/3 rounds to
// 0x3555, 2^-24 (smallest subnormal) = 0x0001, 2^-26 rounds to 0, 70000
// overflows to inf, 1 + 2^-11 (a tie) rounds to even 0x3c00.
const bits = [[1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [1 / 3, 0x3555],
              [2 ** -24, 0x0001], [2 ** -26, 0], [70000, 0x7c00],
              [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [0, 0]];
for (const [x, h] of bits) assert.equal(toHalf(x), h, `toHalf(${x})`);
assert.equal(fromHalf(0x3555), 0.333251953125);
assert.equal(fromHalf(0x0001), 2 ** -24);
assert.equal(fromHalf(0xfc00), -Infinity);
assert.ok(Number.isNaN(fromHalf(0x7e00)));

// A safetensors file: "a" F32 [2] = [1.5, -2], "b" F16 [1] = [0.5] (0x3800),
// "c" BF16 [1] = [3] (0x4040).
function safetensors(header, body) {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out.buffer;
}
const body = new Uint8Array(12);
const dv = new DataView(body.buffer);
dv.setFloat32(0, 1.5, true); dv.setFloat32(4, -2, true);
dv.setUint16(8, 0x3800, true); dv.setUint16(10, 0x4040, true);
const t = parseSafetensors(safetensors({
  a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
  b: { dtype: 'F16', shape: [1], data_offsets: [8, 10] },
  c: { dtype: 'BF16', shape: [1], data_offsets: [10, 12] },
  __metadata__: { format: 'pt' } }, body));
assert.deepEqual([...t.get('a').data], [1.5, -2]);
assert.deepEqual(t.get('a').shape, [2]);
assert.deepEqual([...t.get('b').data], [0.5]);
assert.deepEqual([...t.get('c').data], [3]);
assert.throws(() => parseSafetensors(safetensors(
  { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, body)),
  (e) => e instanceof CascadeError && /'a' has a bad data range/.test(e.message));
assert.throws(() => parseSafetensors(safetensors(
  { a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, body)),
  /unsupported dtype I64/);
assert.throws(() => parseSafetensors(new Uint8Array([255, 0, 0, 0, 0, 0, 0, 0]).buffer),
  /header runs past the end/);

// deviceDescriptor: requests what the kernels use; refuses f16 without
// shader-f16 and limits above the adapter's.
const manifest = { model: 'm', features: [], inputs: [{ name: 'X', shape: [4] }],
  weights: [], outputs: [{ name: 'Y', shape: [4] }], scratch: [8], storage: 'f32',
  limits: { maxStorageBuffersPerShaderStage: 3, maxComputeInvocationsPerWorkgroup: 64 },
  kernels: [{ workgroup_size: [64, 1, 1] }] };
const adapter = (features, limits) => ({ features: new Set(features), limits: {
  maxStorageBuffersPerShaderStage: 8, maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256, maxStorageBufferBindingSize: 134217728,
  maxBufferSize: 268435456, ...limits } });
const d = deviceDescriptor(adapter([], {}), manifest);
assert.deepEqual(d.requiredFeatures, []);
assert.equal(d.requiredLimits.maxComputeWorkgroupSizeX, 64);
assert.equal(d.requiredLimits.maxStorageBuffersPerShaderStage, 3);
assert.throws(() => deviceDescriptor(adapter([], {}), { ...manifest, features: ['shader-f16'] }),
  /needs the 'shader-f16' feature, which this adapter does not have/);
assert.deepEqual(deviceDescriptor(adapter(['shader-f16'], {}),
  { ...manifest, features: ['shader-f16'] }).requiredFeatures, ['shader-f16']);
assert.throws(() => deviceDescriptor(adapter([], { maxStorageBuffersPerShaderStage: 2 }), manifest),
  /needs maxStorageBuffersPerShaderStage >= 3; this adapter allows 2/);
assert.throws(() => deviceDescriptor(adapter([], { maxComputeWorkgroupSizeX: 32 }), manifest),
  /needs workgroups of 64 invocations; this adapter allows 32/);
console.log('webgpu runtime: all checks passed');
