// Validates compiled WebGPU models with Dawn's null backend (no GPU, no
// execution): every kernel's WGSL through createShaderModule +
// getCompilationInfo, then createComputePipelineAsync with the model's
// bind group layout and the limits it declares (entry-point and limit
// errors).
//   node validate.mjs MODEL.json ...
// Prints `ok: FILE (N kernels)` per model; exit 1 on any error, 77 when
// the npm package `webgpu` is missing.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createKernelPipeline, deviceDescriptor } from '../cascade-webgpu.mjs';
import { openAdapter, Unavailable } from './dawn.mjs';

async function main() {
  const files = process.argv.slice(2);
  if (!files.length) {
    console.error('usage: node validate.mjs MODEL.json ...');
    process.exit(2);
  }
  let failed = 0;
  for (const file of files) {
    // An adapter gives one device.
    const { adapter } = await openAdapter('null');
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    const device = await adapter.requestDevice(deviceDescriptor(adapter, manifest));
    for (const kernel of manifest.kernels) {
      try {
        await createKernelPipeline(device, kernel,
                                   readFileSync(join(dirname(file), kernel.wgsl), 'utf8'));
      } catch (e) {
        console.error(`${join(dirname(file), kernel.wgsl)}: ${e.message}`);
        failed++;
      }
    }
    if (!failed) console.log(`ok: ${file} (${manifest.kernels.length} kernels)`);
    device.destroy();
  }
  return failed;
}

main().then((failed) => process.exit(failed ? 1 : 0), (e) => {
  console.error(`error: ${e.message}`);
  process.exit(e instanceof Unavailable ? 77 : 1);
});
