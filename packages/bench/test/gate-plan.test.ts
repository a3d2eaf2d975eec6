/** What the gate measures, skips, fails as missing or lists as new, from two trees' descriptions. */
import { describe, expect, it } from 'vitest';
import { planGate } from '../src/index.js';
import type { DescribeResult, FigureInfo } from '../src/gate/protocol.js';

const figure = (key: string, fingerprint: string, engine = key.split('|')[1]!): FigureInfo => ({
  key,
  group: key.startsWith('kernel|') ? 'kernel' : 'speed',
  engine,
  kernel: 'bf16',
  name: key.split('|').at(-1)!,
  singleThread: key.startsWith('kernel|'),
  fingerprint,
});

const source = (file: string, sha256: string, closureSha256: string) => ({ name: file.replace(/^src\/kernels\/|\.ts$/g, ''), file, sha256, closureSha256 });

function tree(figures: FigureInfo[], kernelFiles: ReturnType<typeof source>[], closure: string): DescribeResult {
  return {
    protocol: 1,
    commit: 'abc',
    engines: [
      { name: 'cpu', available: true, device: 'CPU', software: false, closure },
      { name: 'cuda', available: false, reason: 'no NVIDIA driver' },
    ],
    figures,
    kernelSources: { cpu: kernelFiles },
  };
}

const base = tree(
  [figure('kernel|cpu|gemv bf16', 'a'), figure('kernel|cpu|rms-norm', 'n'), figure('kernel|cpu|copy', 'c'), figure('kernel|cpu|swiglu', 's'), figure('speed|cpu|bf16|decode-b1', 'e1')],
  [source('src/kernels/matmul-bf16.ts', '1', '11'), source('src/kernels/rms-norm.ts', '2', '22'), source('src/kernels/swiglu.ts', '3', '33'), source('src/kernels/dot.ts', '4', '44')],
  'e1',
);
const candidate = tree(
  [figure('kernel|cpu|gemv bf16', 'A'), figure('kernel|cpu|rms-norm', 'n'), figure('kernel|cpu|copy', 'c'), figure('kernel|cpu|fused', 'f'), figure('speed|cpu|bf16|decode-b1', 'e2')],
  [source('src/kernels/matmul-bf16.ts', '1', '11x'), source('src/kernels/rms-norm.ts', '2', '22'), source('src/kernels/dot.ts', '4x', '44x'), source('src/kernels/fused.ts', '5', '55')],
  'e2',
);
const options = { unchanged: 'skip' as const, removed: [], softwareEngines: new Set<string>() };
const keys = (list: readonly { key: string }[]): string[] => list.map((item) => item.key);

describe('planGate', () => {
  it('measures changed figures, skips unchanged ones, fails a vanished one as missing and lists a new one', () => {
    const plan = planGate(base, candidate, { base: new Map(), candidate: new Map() }, options);
    expect(plan.measured.map((planned) => planned.info.key)).toEqual(['kernel|cpu|gemv bf16', 'speed|cpu|bf16|decode-b1']);
    expect(plan.measured.every((planned) => planned.changed)).toBe(true);
    expect(keys(plan.skipped)).toEqual(['kernel|cpu|rms-norm', 'kernel|cpu|copy']);
    expect(keys(plan.missing)).toEqual(['kernel|cpu|swiglu']);
    expect(keys(plan.added)).toEqual(['kernel|cpu|fused']);
    expect(plan.notRun).toEqual([{ engine: 'cuda', reason: 'no NVIDIA driver' }]);
    expect(plan.accuracyEngines).toEqual(['cpu']);
  });

  it('measures unchanged figures as controls on request', () => {
    const plan = planGate(base, candidate, { base: new Map(), candidate: new Map() }, { ...options, unchanged: 'control' });
    expect(plan.measured.filter((planned) => !planned.changed).map((planned) => planned.info.key)).toEqual(['kernel|cpu|rms-norm', 'kernel|cpu|copy']);
    expect(plan.skipped).toEqual([]);
    // The same engine code computes the same logits: no accuracy control.
    expect(planGate(base, base, { base: new Map(), candidate: new Map() }, { ...options, unchanged: 'control' }).accuracyEngines).toEqual([]);
  });

  it('counts generated code: equal closures, different compiled fingerprints is a change', () => {
    const plan = planGate(base, candidate, { base: new Map([['kernel|cpu|rms-norm', 'wgsl-1']]), candidate: new Map([['kernel|cpu|rms-norm', 'wgsl-2']]) }, options);
    expect(plan.measured.map((planned) => planned.info.key)).toContain('kernel|cpu|rms-norm');
  });

  it('a declared removal is listed with its reason, not failed', () => {
    const plan = planGate(base, candidate, { base: new Map(), candidate: new Map() }, { ...options, removed: [{ figure: 'kernel|cpu|swiglu', reason: 'fused into the matmul' }] });
    expect(plan.missing).toEqual([]);
    expect(plan.removed.map((item) => [item.key, item.reason])).toEqual([['kernel|cpu|swiglu', 'fused into the matmul']]);
  });

  it('names the kernel files that differ, and those that differ only through what they import', () => {
    const plan = planGate(base, candidate, { base: new Map(), candidate: new Map() }, options);
    expect(plan.kernelChanges).toEqual([
      { engine: 'cpu', file: 'src/kernels/matmul-bf16.ts', change: 'changed', viaDependency: true },
      { engine: 'cpu', file: 'src/kernels/dot.ts', change: 'changed', viaDependency: false },
      { engine: 'cpu', file: 'src/kernels/fused.ts', change: 'added', viaDependency: false },
      { engine: 'cpu', file: 'src/kernels/swiglu.ts', change: 'removed', viaDependency: false },
    ]);
  });

  it('keeps to --engines and --only', () => {
    const plan = planGate(base, candidate, { base: new Map(), candidate: new Map() }, { ...options, unchanged: 'control', only: ['gemv'] });
    expect(plan.measured.map((planned) => planned.info.key)).toEqual(['kernel|cpu|gemv bf16']);
    expect(plan.missing).toEqual([]);
  });
});
