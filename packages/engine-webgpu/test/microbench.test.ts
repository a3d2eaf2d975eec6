/**
 * The WebGPU microbenchmark cases: each prepares its own buffers and kernel runner, runs, reports the WGSL it
 * compiled (what the gate fingerprints besides the source files), and gives every byte back when disposed.
 */
import { describe, expect, it } from 'vitest';
import { webgpuMicrobenchmarkCases } from '../src/microbench.js';
import { gpu } from './gpu-harness.js';

describe('webgpu microbenchmark cases', () => {
  it('one copy reference; each case runs, names the WGSL it compiled, and frees its buffers', async () => {
    const context = await gpu();
    const cases = webgpuMicrobenchmarkCases(context, { quick: true });
    expect(cases.filter((candidate) => candidate.reference).map((candidate) => candidate.name)).toEqual(['copy 64MiB']);
    if (context.features.software) {
      // A software adapter runs every matmul with one kernel: the quick suite keeps a small and a large GEMV shape.
      expect(cases.filter((candidate) => candidate.name.startsWith('gemv-b1 ')).map((candidate) => candidate.name.split(' ')[1])).toEqual(['k_proj', 'k_proj', 'k_proj', 'gate_proj', 'gate_proj', 'gate_proj']);
    }
    const before = context.memory.accounting().bytesNow;
    for (const name of ['copy 64MiB', 'gemv-b1 k_proj 1024x2560 w8a8', 'rms-norm 2560x8']) {
      const prepared = await cases.find((candidate) => candidate.name === name)!.prepare();
      await prepared.run();
      const compiled = prepared.compiledSources?.() ?? [];
      if (name.startsWith('copy')) expect(compiled).toEqual([]);
      else {
        expect(compiled.length, name).toBeGreaterThan(0);
        for (const source of compiled) expect(source).toContain('@compute');
      }
      await prepared.dispose();
      expect(context.memory.accounting().bytesNow, name).toBe(before);
    }
  });

  it('the same case compiles the same WGSL in two preparations', async () => {
    const context = await gpu();
    const gemv = webgpuMicrobenchmarkCases(context, { quick: true }).find((candidate) => candidate.name === 'gemv-b1 k_proj 1024x2560 bf16')!;
    const sources: string[][] = [];
    for (let i = 0; i < 2; i++) {
      const prepared = await gemv.prepare();
      await prepared.run();
      sources.push([...(prepared.compiledSources?.() ?? [])]);
      await prepared.dispose();
    }
    expect(sources[1]).toEqual(sources[0]);
  });
});
