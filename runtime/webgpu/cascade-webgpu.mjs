// cascade-webgpu.mjs: runs a model compiled by `cascade compile
// --target=webgpu` on a GPUDevice, in a browser or in node. No
// dependencies: it needs only the WebGPU API.
//
//   import { loadModelFromUrl } from './cascade-webgpu.mjs';
//   const adapter = await navigator.gpu.requestAdapter();
//   const model = await loadModelFromUrl(adapter, 'model/layer.json');
//   const { Y } = await model.run({ X: new Float32Array(...), ... });
//
// The manifest (NAME.json) lists the tensors (inputs, weights, outputs,
// with names and shapes), the scratch buffers and the kernels in order:
// each kernel's WGSL file, workgroup size, dispatch grid and bindings. A
// kernel that needs more storage buffers than the device allows reads the
// rest from a pack buffer, filled by copies before it and copied back
// after it.

export const FORMAT = 1;

/** Errors the runtime reports: bad manifests, bad tensors, missing
 *  adapter features or limits. */
export class CascadeError extends Error {
  constructor(message) {
    super(message);
    this.name = 'CascadeError';
  }
}

function check(condition, message) {
  if (!condition) throw new CascadeError(message);
}

/** What `requestDevice` must ask of `adapter` for `manifest`; throws a
 *  CascadeError when the adapter cannot run the model (f16 storage without
 *  `shader-f16`, limits above the adapter's). */
export function deviceDescriptor(adapter, manifest) {
  const requiredFeatures = [];
  for (const f of manifest.features || []) {
    check(adapter.features.has(f),
          `model '${manifest.model}' stores tensors as f16 and needs the ` +
          `'${f}' feature, which this adapter does not have (compile ` +
          `without --features=+f16)`);
    requiredFeatures.push(f);
  }
  const requiredLimits = {};
  for (const [name, value] of Object.entries(manifest.limits || {})) {
    check(adapter.limits[name] >= value,
          `model '${manifest.model}' needs ${name} >= ${value}; this ` +
          `adapter allows ${adapter.limits[name]}`);
    requiredLimits[name] = value;
  }
  // A compatibility-mode adapter (GL) starts at 128 invocations and
  // workgroup size x: ask for what the kernels use.
  const wx = Math.max(1, ...manifest.kernels.map((k) => k.workgroup_size[0]));
  check(adapter.limits.maxComputeWorkgroupSizeX >= wx,
        `model '${manifest.model}' needs workgroups of ${wx} invocations; ` +
        `this adapter allows ${adapter.limits.maxComputeWorkgroupSizeX}`);
  requiredLimits.maxComputeWorkgroupSizeX = wx;
  requiredLimits.maxComputeInvocationsPerWorkgroup = Math.max(
      requiredLimits.maxComputeInvocationsPerWorkgroup || 1, wx);
  let largest = 0;
  for (const t of allTensors(manifest)) largest = Math.max(largest, bytesOf(manifest, count(t.shape)));
  for (const n of manifest.scratch) largest = Math.max(largest, bytesOf(manifest, n));
  for (const k of manifest.kernels)
    if (k.pack) largest = Math.max(largest, bytesOf(manifest, k.pack.elements));
  if (largest > 134217728) {
    check(adapter.limits.maxStorageBufferBindingSize >= largest &&
          adapter.limits.maxBufferSize >= largest,
          `model '${manifest.model}' needs a buffer of ${largest} bytes; ` +
          `this adapter allows ${adapter.limits.maxStorageBufferBindingSize}`);
    requiredLimits.maxStorageBufferBindingSize = largest;
    requiredLimits.maxBufferSize = largest;
  }
  return { requiredFeatures, requiredLimits };
}

function count(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

function bytesOf(manifest, elements) {
  const bytes = elements * (manifest.storage === 'f16' ? 2 : 4);
  return Math.max(4, Math.ceil(bytes / 4) * 4);
}

function allTensors(manifest) {
  return [...manifest.inputs, ...manifest.weights, ...manifest.outputs];
}

// f32 <-> f16 bits, round to nearest even (storage "f16").
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** The f16 bits nearest to `x` (round to nearest even). */
export function toHalf(x) {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >> shift;
    const rest = mant & ((1 << shift) - 1), half = 1 << (shift - 1);
    if (rest > half || (rest === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++;
  return sign | h;
}
/** The value of the f16 bits `h`. */
export function fromHalf(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** A compiled model on a device. */
export class Model {
  constructor(device, manifest, pipelines) {
    this.device = device;
    this.manifest = manifest;
    this.half = manifest.storage === 'f16';
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC |
                  GPUBufferUsage.COPY_DST;
    const make = (elements, label) => device.createBuffer(
        { size: bytesOf(manifest, elements), usage, label });
    this.tensors = new Map();
    for (const t of allTensors(manifest))
      this.tensors.set(t.name, { info: t, buffer: make(count(t.shape), t.name) });
    this.scratch = manifest.scratch.map((n, i) => make(n, `scratch${i}`));
    this.steps = manifest.kernels.map((k, i) => {
      const buffer = (ref) => ('tensor' in ref)
          ? this.tensors.get(ref.tensor).buffer : this.scratch[ref.scratch];
      const entries = k.bindings.map((b) => (
          { binding: b.binding, resource: { buffer: buffer(b) } }));
      let pack = null;
      if (k.pack) {
        pack = { buffer: make(k.pack.elements, `pack${i}`),
                 parts: k.pack.parts.map((p) => ({ ...p, gpu: buffer(p) })) };
        entries.push({ binding: k.pack.binding, resource: { buffer: pack.buffer } });
      }
      const bindGroup = device.createBindGroup(
          { layout: pipelines[i].layout, entries, label: k.name });
      return { kernel: k, pipeline: pipelines[i].pipeline, bindGroup, pack };
    });
  }

  /** Copies `data` (a Float32Array, or numbers) into the tensor `name`: an
   *  input or a weight. Weights stay on the device between runs. */
  set(name, data) {
    const t = this.tensors.get(name);
    check(t && !this.manifest.outputs.includes(t.info),
          `model '${this.manifest.model}' has no input or weight '${name}'`);
    const n = count(t.info.shape);
    check(data.length === n,
          `'${name}' has ${data.length} elements; the model expects ` +
          `${n} (shape [${t.info.shape.join(', ')}])`);
    let bytes;
    if (this.half) {
      bytes = new Uint16Array(Math.ceil(n / 2) * 2);
      for (let i = 0; i < n; i++) bytes[i] = toHalf(data[i]);
    } else {
      bytes = data instanceof Float32Array ? data : Float32Array.from(data);
    }
    this.device.queue.writeBuffer(t.buffer, 0, bytes);
  }

  /** Sets every weight from `tensors` (a Map from key to { shape, data },
   *  as parseSafetensors returns), by the keys the model declares. */
  setWeights(tensors) {
    for (const w of this.manifest.weights) {
      const t = tensors.get(w.key);
      check(t, `model '${this.manifest.model}' needs weight '${w.key}' ` +
               `(${w.name}), which the file does not have`);
      check(t.shape.join(',') === w.shape.join(','),
            `weight '${w.key}' has shape [${t.shape}]; the model expects [${w.shape}]`);
      this.set(w.name, t.data);
    }
  }

  /** Records every kernel in order (or the kernels at the indices given)
   *  into one command buffer and submits it. Does not wait. */
  dispatch(only = null) {
    const encoder = this.device.createCommandEncoder();
    const unit = this.half ? 2 : 4;
    const span = (p) => Math.ceil(p.elements * unit / 4) * 4;
    for (const step of only ? only.map((i) => this.steps[i]) : this.steps) {
      if (step.pack)
        for (const p of step.pack.parts)
          encoder.copyBufferToBuffer(p.gpu, 0, step.pack.buffer,
                                     p.offset * unit, span(p));
      const pass = encoder.beginComputePass({ label: step.kernel.name });
      pass.setPipeline(step.pipeline);
      pass.setBindGroup(0, step.bindGroup);
      const [x, y, z] = step.kernel.dispatch;
      pass.dispatchWorkgroups(x, y, z);
      pass.end();
      if (step.pack)
        for (const p of step.pack.parts)
          if (p.written)
            encoder.copyBufferToBuffer(step.pack.buffer, p.offset * unit,
                                       p.gpu, 0, span(p));
    }
    this.device.queue.submit([encoder.finish()]);
  }

  /** Reads the output `name` back as a Float32Array. */
  async read(name) {
    const t = this.tensors.get(name);
    check(t && this.manifest.outputs.includes(t.info),
          `model '${this.manifest.model}' has no output '${name}'`);
    const n = count(t.info.shape);
    const size = bytesOf(this.manifest, n);
    const staging = this.device.createBuffer(
        { size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(t.buffer, 0, staging, 0, size);
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const raw = staging.getMappedRange();
    let out;
    if (this.half) {
      const h = new Uint16Array(raw, 0, n);
      out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = fromHalf(h[i]);
    } else {
      out = new Float32Array(raw.slice(0, n * 4));
    }
    staging.unmap();
    staging.destroy();
    return out;
  }

  /** Sets the given inputs and weights, runs the model and returns every
   *  output by name. Inputs and weights not given keep their last values. */
  async run(tensors = {}) {
    for (const [name, data] of Object.entries(tensors)) this.set(name, data);
    this.device.pushErrorScope('validation');
    this.dispatch();
    const error = await this.device.popErrorScope();
    if (error) throw new CascadeError(`WebGPU rejected a dispatch: ${error.message}`);
    const outputs = {};
    for (const t of this.manifest.outputs) outputs[t.name] = await this.read(t.name);
    return outputs;
  }

  /** Frees the model's buffers. */
  destroy() {
    for (const t of this.tensors.values()) t.buffer.destroy();
    for (const b of this.scratch) b.destroy();
    for (const s of this.steps) if (s.pack) s.pack.buffer.destroy();
  }
}

/** Reads a safetensors file (an ArrayBuffer) into a Map from tensor name
 *  to { shape, data: Float32Array }; F32, F16 and BF16 tensors are
 *  converted to f32. Throws a CascadeError on a malformed file. */
export function parseSafetensors(buffer) {
  const bytes = new Uint8Array(buffer);
  check(bytes.length >= 8, 'safetensors: file shorter than its header size');
  const view = new DataView(buffer);
  const size = Number(view.getBigUint64(0, true));
  check(8 + size <= bytes.length, 'safetensors: header runs past the end of the file');
  let header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + size)));
  } catch (e) {
    throw new CascadeError(`safetensors: header is not JSON (${e.message})`);
  }
  const widths = { F32: 4, F16: 2, BF16: 2 };
  const tensors = new Map();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    check(t && widths[t.dtype], `safetensors: '${name}' has unsupported dtype ${t && t.dtype}`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    const [begin, end] = t.data_offsets;
    check(end - begin === n * widths[t.dtype] && 8 + size + end <= bytes.length,
          `safetensors: '${name}' has a bad data range`);
    const at = 8 + size + begin;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      if (t.dtype === 'F32') data[i] = view.getFloat32(at + 4 * i, true);
      else if (t.dtype === 'F16') data[i] = fromHalf(view.getUint16(at + 2 * i, true));
      else { u32[0] = view.getUint16(at + 2 * i, true) << 16; data[i] = f32[0]; }
    }
    tensors.set(name, { shape: t.shape, data });
  }
  return tensors;
}

function checkManifest(manifest) {
  check(manifest && manifest.format === FORMAT && manifest.target === 'webgpu',
        'not a Cascade WebGPU manifest (compile with --target=webgpu)');
  for (const key of ['inputs', 'weights', 'outputs', 'scratch', 'kernels'])
    check(Array.isArray(manifest[key]), `manifest: '${key}' is missing`);
}

/** The explicit bind group layout of a kernel: its bindings and its pack
 *  buffer, read-only unless the kernel writes them. */
function layoutOf(device, kernel) {
  const entries = kernel.bindings.map((b) => ({
    binding: b.binding, visibility: GPUShaderStage.COMPUTE,
    buffer: { type: b.written ? 'storage' : 'read-only-storage' } }));
  if (kernel.pack)
    entries.push({ binding: kernel.pack.binding, visibility: GPUShaderStage.COMPUTE,
      buffer: { type: kernel.pack.parts.some((p) => p.written)
                    ? 'storage' : 'read-only-storage' } });
  return device.createBindGroupLayout({ entries });
}

/** Compiles a kernel's pipeline; throws a CascadeError with the shader
 *  compiler's messages when the WGSL is rejected. */
export async function createKernelPipeline(device, kernel, code) {
  const module = device.createShaderModule({ code, label: kernel.wgsl });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length)
    throw new CascadeError(`${kernel.wgsl}: ` + errors.map(
        (m) => `${m.lineNum}:${m.linePos}: error: ${m.message}`).join('\n'));
  const layout = layoutOf(device, kernel);
  try {
    const pipeline = await device.createComputePipelineAsync({
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: kernel.entry } });
    return { pipeline, layout };
  } catch (e) {
    throw new CascadeError(`${kernel.wgsl}: pipeline rejected: ${e.message}`);
  }
}

/** Loads a model on `device` from its manifest object; `readText(file)`
 *  returns (a promise of) the text of a file next to the manifest. */
export async function loadModel(device, manifest, readText) {
  checkManifest(manifest);
  const pipelines = await Promise.all(manifest.kernels.map(
      async (k) => createKernelPipeline(device, k, await readText(k.wgsl))));
  return new Model(device, manifest, pipelines);
}

/** Fetches the manifest at `url` and its WGSL files, requests a device from
 *  `adapter` with what the model needs, and loads the model. */
export async function loadModelFromUrl(adapter, url) {
  const base = new URL(url, globalThis.location ? globalThis.location.href : undefined);
  const response = await fetch(base);
  check(response.ok, `${base}: ${response.status} ${response.statusText}`);
  const manifest = await response.json();
  checkManifest(manifest);
  const device = await adapter.requestDevice(deviceDescriptor(adapter, manifest));
  return loadModel(device, manifest, async (file) => {
    const r = await fetch(new URL(file, base));
    check(r.ok, `${file}: ${r.status} ${r.statusText}`);
    return r.text();
  });
}
