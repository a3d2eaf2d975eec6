/**
 * Kernel microbenchmark cases and kernel source hashes for the WebGPU engine (the Engine contract's optional
 * `microbenchmarks` and `kernelSources`), at a model's real shapes (default Qwen3-4B): the decode matmul per
 * weight format for every projection (and the tied lm_head), a prefill-chunk GEMM per mode, attention decode at
 * several context lengths, RMSNorm. One call is (record, submit, wait). The reference every case is compared
 * with is a device-local buffer copy, the adapter's bandwidth ceiling. Each case records through a kernel runner
 * of its own, so the WGSL it compiled is what it ran. Timing is core's harness; a slowed case (tests of the gate)
 * runs a larger shape under its nominal name, bytes and FLOPs.
 *
 * Browser-safe: the source hashes need Node (`node:fs`, `node:crypto`), imported dynamically; in a browser
 * `webgpuKernelSources` returns nothing and `webgpuSourceClosure` refuses.
 */
import {
  type KernelMode,
  type KernelSource,
  layerProjections,
  MICROBENCHMARK_GEMM_ROWS,
  type MicrobenchmarkCase,
  microbenchmarkContexts,
  type MicrobenchmarkShapes,
  type MicrobenchmarkSuiteOptions,
  QWEN3_4B_SHAPES,
  slowedDimension,
} from '@quantbench/core';
import { type GpuContext, KernelRunner } from './gpu/index.js';
import { attentionDecodePartialsBytes, recordAttentionDecode } from './kernels/attention-decode.js';
import { recordMatmul } from './kernels/matmul.js';
import { recordRmsNorm } from './kernels/rms-norm.js';

/** core/node, which needs Node (`node:fs`, `node:crypto`); undefined in a browser. */
async function nodeHashing(): Promise<typeof import('@quantbench/core/node') | undefined> {
  if (typeof process === 'undefined' || !process.versions?.node) return undefined;
  // A computed specifier keeps browser bundlers from pulling Node's fs and crypto into a page.
  const nodeOnly = '@quantbench/core/node';
  return (await import(nodeOnly)) as typeof import('@quantbench/core/node');
}

export async function webgpuKernelSources(): Promise<KernelSource[]> {
  const kernels = new URL('./kernels/', import.meta.url);
  const hashing = kernels.protocol === 'file:' ? await nodeHashing() : undefined;
  return hashing ? hashing.hashKernelDirectory(kernels, new URL('../', import.meta.url)) : [];
}

/** The source closure of the engine's module `entry` (Node only: the gate runs there). */
export async function webgpuSourceClosure(entry: URL): Promise<string> {
  const hashing = entry.protocol === 'file:' ? await nodeHashing() : undefined;
  if (!hashing) throw new Error('webgpu engine: source closures are computed in Node only');
  return (await hashing.sourceClosure([decodeURIComponent(entry.pathname)])).sha256;
}

type CaseInfo = Omit<MicrobenchmarkCase, 'prepare'>;

/**
 * A case whose `record` records one call into the runner, over buffers `setup` creates (all destroyed with the
 * case). A call is recorded, submitted and waited for.
 */
function gpuCase(context: GpuContext, info: CaseInfo, setup: (buffer: (label: string, bytes: number) => GPUBuffer) => (runner: KernelRunner) => void): MicrobenchmarkCase {
  return {
    ...info,
    async prepare() {
      const runner = new KernelRunner(context);
      const created: GPUBuffer[] = [];
      const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
      const buffer = (label: string, bytes: number): GPUBuffer => {
        const made = context.memory.create('microbench', label, bytes, usage);
        created.push(made);
        return made;
      };
      try {
        const record = setup(buffer);
        return {
          async run() {
            record(runner);
            await runner.finish();
          },
          compiledSources: () => runner.compiledSources(),
          dispose() {
            for (const made of created) context.memory.destroy(made);
            runner.destroy();
          },
        };
      } catch (error) {
        for (const made of created) context.memory.destroy(made);
        runner.destroy();
        throw error;
      }
    },
  };
}

/** The WebGPU cases on `context` (a device of their own, so their buffers never count in a model's memory). */
export function webgpuMicrobenchmarkCases(context: GpuContext, options: MicrobenchmarkSuiteOptions = {}): MicrobenchmarkCase[] {
  const shapes = options.shapes ?? QWEN3_4B_SHAPES;
  const features = context.features;
  const cases: MicrobenchmarkCase[] = [];
  // The reference: a device-local copy reads and writes every byte once.
  const copyBytes = (options.quick ? 64 : 256) * 2 ** 20;
  const copyName = `copy ${copyBytes / 2 ** 20}MiB`;
  cases.push(
    gpuCase(context, { name: copyName, kernel: 'bf16', reference: true, bytes: 2 * copyBytes, flops: 0 }, (buffer) => {
      const bytes = 4 * slowedDimension(copyName, copyBytes / 4, options.slowdowns);
      const source = buffer('copy source', bytes);
      const target = buffer('copy target', bytes);
      return (runner) => runner.copy(source, 0, target, 0, bytes);
    }),
  );

  const gemvSource = (mode: KernelMode): string => (features.software ? 'matmul-per-output' : mode === 'bf16' ? 'gemv-bf16' : `gemv-fp8-${mode}`);
  const gemmSource = (mode: KernelMode): string => (features.software ? 'matmul-per-output' : mode === 'bf16' ? 'gemm-bf16' : `gemm-fp8-${mode}`);
  const matmul = (name: string, mode: KernelMode, rows: number, nominalOutDim: number, inDim: number, source: string): MicrobenchmarkCase => {
    const bytesPerWeight = mode === 'bf16' ? 2 : 1;
    const bytes = nominalOutDim * inDim * bytesPerWeight + rows * (inDim + nominalOutDim) * 4;
    return gpuCase(context, { name, kernel: mode, reference: false, bytes, flops: 2 * rows * nominalOutDim * inDim, source }, (buffer) => {
      const outDim = slowedDimension(name, nominalOutDim, options.slowdowns);
      const job = {
        mode,
        weight: buffer('weight', outDim * inDim * bytesPerWeight),
        scales: buffer('weight scales', Math.ceil(outDim / 128) * Math.ceil(inDim / 128) * 4),
        input: buffer('x', rows * inDim * 4),
        inputScales: buffer('x scales', rows * Math.ceil(inDim / 128) * 4),
        output: buffer('y', rows * outDim * 4),
        rows,
        inDim,
        outDim,
      };
      return (runner) => recordMatmul(runner, features, job);
    });
  };
  // On a software adapter every matmul is the one per-output kernel, so a quick run keeps a small and a large shape.
  const projections = layerProjections(shapes).filter(([projection]) => !(options.quick && features.software) || projection === 'k_proj' || projection === 'gate_proj');
  for (const [projection, outDim, inDim] of projections) {
    for (const mode of ['bf16', 'w8a16', 'w8a8'] as const) cases.push(matmul(`gemv-b1 ${projection} ${outDim}x${inDim} ${mode}`, mode, 1, outDim, inDim, gemvSource(mode)));
  }
  if (!options.quick) cases.push(matmul(`gemv-b1 lm_head ${shapes.vocabSize}x${shapes.hiddenSize} bf16`, 'bf16', 1, shapes.vocabSize, shapes.hiddenSize, gemvSource('bf16')));
  // Prefill-shaped matmul: a chunk of activation rows against the k_proj weight.
  const kvDim = shapes.numKvHeads * shapes.headDim;
  for (const mode of ['bf16', 'w8a16', 'w8a8'] as const) {
    cases.push(matmul(`gemm-b${MICROBENCHMARK_GEMM_ROWS} k_proj ${kvDim}x${shapes.hiddenSize} ${mode}`, mode, MICROBENCHMARK_GEMM_ROWS, kvDim, shapes.hiddenSize, gemmSource(mode)));
  }
  for (const positions of microbenchmarkContexts(options)) cases.push(attentionCase(context, shapes, positions, options));
  const normName = `rms-norm ${shapes.hiddenSize}x8`;
  cases.push(
    gpuCase(context, { name: normName, kernel: 'bf16', reference: false, bytes: 2 * 8 * shapes.hiddenSize * 4 + shapes.hiddenSize * 4, flops: 4 * 8 * shapes.hiddenSize, source: 'rms-norm' }, (buffer) => {
      const rows = slowedDimension(normName, 8, options.slowdowns);
      const job = { x: buffer('norm in', rows * shapes.hiddenSize * 4), weight: buffer('norm weight', shapes.hiddenSize * 4), out: buffer('norm out', rows * shapes.hiddenSize * 4), rows, size: shapes.hiddenSize, eps: 1e-6 };
      return (runner) => recordRmsNorm(runner, features, job);
    }),
  );
  return cases;
}

function attentionCase(context: GpuContext, shapes: MicrobenchmarkShapes, nominalPositions: number, options: MicrobenchmarkSuiteOptions): MicrobenchmarkCase {
  const kvDim = shapes.numKvHeads * shapes.headDim;
  const name = `attention-decode ctx ${nominalPositions}`;
  const info: CaseInfo = { name, kernel: 'bf16', reference: false, bytes: 2 * nominalPositions * kvDim * 4, flops: 4 * shapes.numHeads * shapes.headDim * nominalPositions, source: 'attention-decode' };
  return gpuCase(context, info, (buffer) => {
    const positions = slowedDimension(name, nominalPositions, options.slowdowns);
    const cacheBytes = positions * kvDim * 4;
    const rowInfo = buffer('row info', 8);
    context.device.queue.writeBuffer(rowInfo, 0, Uint32Array.from([0, positions - 1]));
    const job = {
      q: buffer('q', shapes.numHeads * shapes.headDim * 4),
      keys: buffer('keys', cacheBytes),
      values: buffer('values', cacheBytes),
      rowInfo,
      out: buffer('attention out', shapes.numHeads * shapes.headDim * 4),
      partials: buffer('partials', attentionDecodePartialsBytes(1, shapes.numHeads, shapes.headDim, positions)),
      rows: 1,
      heads: shapes.numHeads,
      kvHeads: shapes.numKvHeads,
      headDim: shapes.headDim,
      maxContext: positions,
    };
    return (runner) => recordAttentionDecode(runner, context.features, job);
  });
}
