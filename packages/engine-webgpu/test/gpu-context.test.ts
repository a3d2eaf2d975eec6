import { describe, expect, it } from 'vitest';
import { params } from '../src/gpu/index.js';
import { gpu, readF32, runner, upload } from './gpu-harness.js';

describe('WebGPU context', () => {
  it('finds an adapter by itself and says which', async () => {
    const ctx = await gpu();
    expect(ctx.description).toMatch(/—/);
    console.log(`WebGPU adapter: ${ctx.description}; subgroups ${ctx.features.subgroups}, shader-f16 ${ctx.features.shaderF16}`);
    expect(ctx.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
  });

  it('runs a kernel with a parameter struct and accounts its buffers', async () => {
    const run = await runner();
    const ctx = run.context;
    const before = ctx.memory.accounting().bytesNow;
    const data = await upload(Float32Array.from({ length: 100 }, (_, i) => i));
    const source = `
      struct Params { count: u32, scale: f32 }
      @group(0) @binding(0) var<uniform> p: Params;
      @group(0) @binding(1) var<storage, read_write> data: array<f32>;
      @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
        if (id.x < p.count) { data[id.x] = data[id.x] * p.scale; }
      }`;
    run.dispatch({ name: 'scale', source }, { buffers: [data], params: params(100, { f32: 0.5 }), workgroups: [2] });
    const out = await readF32(run, data, 100);
    expect(out[99]).toBe(49.5);
    expect(out[1]).toBe(0.5);
    expect(ctx.memory.accounting().bytesNow).toBe(before + 400);
    expect(ctx.memory.accounting().bytesPeak).toBeGreaterThanOrEqual(before + 800);
  });
});
