/**
 * CPU engine benchmark: prefill and decode tokens/s and memory for the synthetic `tiny` and `mid` presets in every
 * kernel mode, written as a run report under reports/runs/. Usage (from the repo root):
 *   pnpm --filter @quantbench/engine-cpu bench [--presets tiny,mid --threads N]   (default: tiny)
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRunReport, describeEnvironment, measureSpeed } from '@quantbench/bench';
import { type KernelMode, type ResultRow, weightFormatOf } from '@quantbench/core';
import { ensureSyntheticCheckpoints, isPresetName, type PresetName } from '@quantbench/model';
import { createCpuEngine } from '../src/index.js';

const { values } = parseArgs({ args: process.argv.slice(2).filter((arg) => arg !== '--'), options: { presets: { type: 'string', default: 'tiny' }, threads: { type: 'string' } } });
const presets = values.presets.split(',').map((name) => {
  if (!isPresetName(name)) throw new Error(`unknown preset '${name}'`);
  return name;
});
const SHAPES: Record<string, { prefillTokens: number; decodeBatch: number; prefillIterations: number; decodeIterations: number }> = {
  tiny: { prefillTokens: 64, decodeBatch: 4, prefillIterations: 5, decodeIterations: 16 },
  mid: { prefillTokens: 32, decodeBatch: 4, prefillIterations: 3, decodeIterations: 6 },
  'qwen3-4b': { prefillTokens: 16, decodeBatch: 2, prefillIterations: 2, decodeIterations: 3 },
};

const engine = await createCpuEngine(values.threads ? { threads: Number(values.threads) } : {});
const { device } = await engine.capabilities();
const report = await createRunReport({
  reportsDir: fileURLToPath(new URL('../../../reports', import.meta.url)),
  name: 'cpu-engine',
  environment: describeEnvironment({ engine: 'cpu', device, presets }),
});

for (const preset of presets as PresetName[]) {
  const dirs = await ensureSyntheticCheckpoints({ preset, onProgress: (message) => console.error(message) });
  const shape = SHAPES[preset]!;
  for (const kernel of ['bf16', 'w8a16', 'w8a8'] as KernelMode[]) {
    const format = weightFormatOf(kernel);
    const model = await engine.load({ modelDir: format === 'bf16' ? dirs.bf16Dir : dirs.fp8Dir, kernel, maxBatch: shape.decodeBatch, maxContext: 256 });
    const speed = await measureSpeed(model, shape);
    await model.dispose();
    const base = { runId: report.runId, commit: describeEnvironment().commit, engine: 'cpu', device, format, kernel, thinking: 'n/a', seed: null } as const;
    const rows: ResultRow[] = speed.figures.map((f) => ({
      ...base,
      task: `${preset}/${f.scenario}-${f.scenario === 'prefill' ? f.rows : `b${f.rows}`}`,
      metric: `${f.scenario}_tokens_per_s`,
      value: f.tokensPerSecond,
      unit: 'tokens/s',
      n: f.samples,
      ciLow: f.ciLow,
      ciHigh: f.ciHigh,
    }));
    rows.push({ ...base, task: `${preset}/memory`, metric: 'peak_bytes', value: speed.peakBytes, unit: 'bytes', n: 1, ciLow: null, ciHigh: null });
    rows.push({ ...base, task: `${preset}/memory`, metric: 'weight_bytes', value: speed.weightBytes, unit: 'bytes', n: 1, ciLow: null, ciHigh: null });
    await report.add(rows);
    for (const f of speed.figures) {
      console.log(`${preset.padEnd(8)} ${kernel.padEnd(6)} ${`${f.scenario} ${f.scenario === 'prefill' ? f.rows : `b${f.rows}`}`.padEnd(12)} ${f.tokensPerSecond.toFixed(2).padStart(9)} tokens/s  [${f.ciLow.toFixed(2)}, ${f.ciHigh.toFixed(2)}]  peak ${(speed.peakBytes / 2 ** 20).toFixed(1)} MiB`);
    }
  }
}
await engine.dispose();
console.log(`report: ${report.dir}`);
