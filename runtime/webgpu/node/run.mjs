// The node driver of `cascade run --target=webgpu`:
//   node run.mjs MODEL.json --input NAME=FILE.npy ... --output-dir DIR [--bench=N] [--profile]
// Loads the model with cascade-webgpu.mjs on a Dawn adapter, runs it, and
// writes every output as DIR/NAME.npy. Prints `adapter=...` and with
// --bench `median_ms=...` (the dispatches, inputs already on the device).
// Exit codes: 0 ok, 1 error, 77 no WebGPU here (the caller skips).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadModel, deviceDescriptor, CascadeError } from '../cascade-webgpu.mjs';
import { readNpy, writeNpy } from './npy.mjs';
import { openAdapter, Unavailable } from './dawn.mjs';

function usage(msg) {
  console.error(`error: ${msg}\nusage: node run.mjs MODEL.json --input NAME=FILE.npy ... --output-dir DIR [--bench=N] [--profile]`);
  process.exit(2);
}

async function main() {
  const argv = process.argv.slice(2);
  let manifestPath, outputDir, bench = 0, profile = false;
  const inputs = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--input') inputs.push(argv[++i]);
    else if (a === '--output-dir') outputDir = argv[++i];
    else if (a.startsWith('--bench=')) bench = Number(a.slice(8));
    else if (a === '--profile') profile = true;
    else if (!a.startsWith('--') && !manifestPath) manifestPath = a;
    else usage(`unknown argument '${a}'`);
  }
  if (!manifestPath) usage('no manifest given');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const { adapter, name, backend } = await openAdapter();
  if (backend === 'null')
    throw new Unavailable('the null backend validates kernels but runs ' +
                          'nothing (use vulkan or opengles)');
  console.log(`adapter=${name}`);
  const device = await adapter.requestDevice(deviceDescriptor(adapter, manifest));
  let lost = null;
  device.lost.then((info) => { lost = info; });
  device.onuncapturederror = (e) => {
    console.error(`error: WebGPU: ${e.error.message}`);
    process.exit(1);
  };
  const base = dirname(manifestPath);
  const model = await loadModel(device, manifest,
                                (file) => readFileSync(join(base, file), 'utf8'));
  const given = {};
  for (const spec of inputs) {
    const eq = spec.indexOf('=');
    if (eq < 0) usage(`--input ${spec}: expected NAME=FILE.npy`);
    const { shape, data } = readNpy(spec.slice(eq + 1));
    const info = [...manifest.inputs, ...manifest.weights].find((t) => t.name === spec.slice(0, eq));
    if (info && shape.join(',') !== info.shape.join(','))
      throw new CascadeError(`${spec.slice(eq + 1)}: shape [${shape}] but '${info.name}' is [${info.shape}]`);
    given[spec.slice(0, eq)] = data;
  }
  for (const t of [...manifest.inputs, ...manifest.weights])
    if (!(t.name in given)) throw new CascadeError(`no value for '${t.name}'`);
  const outputs = await model.run(given);
  if (lost) throw new CascadeError(`device lost: ${lost.message}`);
  if (outputDir)
    for (const t of manifest.outputs)
      writeNpy(join(outputDir, `${t.name}.npy`), t.shape, outputs[t.name]);
  if (bench > 0) {
    model.dispatch(); // warm-up
    await device.queue.onSubmittedWorkDone();
    const times = [];
    for (let i = 0; i < bench; i++) {
      const t0 = performance.now();
      model.dispatch();
      await device.queue.onSubmittedWorkDone();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const n = times.length;
    const median = n % 2 ? times[(n - 1) / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
    console.log(`median_ms=${median}`);
  }
  if (profile) {
    // Each kernel on its own, waiting for it: where the time goes.
    const rows = [];
    for (const [i, step] of model.steps.entries()) {
      const t0 = performance.now();
      model.dispatch([i]);
      await device.queue.onSubmittedWorkDone();
      rows.push([performance.now() - t0, step.kernel.wgsl,
                 step.kernel.dispatch.join('x'), step.kernel.workgroup_size[0]]);
    }
    rows.sort((a, b) => b[0] - a[0]);
    for (const [ms, file, grid, size] of rows)
      console.log(`profile: ${ms.toFixed(3).padStart(10)} ms  ${file}  ` +
                  `${grid} workgroups of ${size}`);
  }
}

main().then(() => process.exit(0), (e) => {
  if (e instanceof Unavailable) {
    console.error(`error: ${e.message}`);
    process.exit(77);
  }
  console.error(e instanceof CascadeError || e.message?.includes(': error: ')
      ? (e.message.includes('error:') ? e.message : `error: ${e.message}`)
      : `error: ${e.stack || e}`);
  process.exit(1);
});
