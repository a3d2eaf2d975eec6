/**
 * Records compute dispatches into one command encoder and submits them together, so a whole forward pass is one
 * submission. Conventions every kernel follows: `@group(0) @binding(0)` is a uniform struct of parameters
 * (written per dispatch into a shared uniform arena, 256-byte slots), storage buffers follow at bindings 1..n in
 * the order given, and the entry point is `main`. Pipelines are compiled once per WGSL source.
 */
import type { GpuContext } from './gpu-context.js';

export interface KernelSpec {
  /** Names the kernel file, e.g. `matmul-bf16`. */
  readonly name: string;
  readonly source: string;
}

export type BufferBinding = GPUBuffer | { readonly buffer: GPUBuffer; readonly offset: number; readonly size: number };

export interface Dispatch {
  readonly buffers: readonly BufferBinding[];
  /** The parameter struct's bytes (u32/f32 fields, as the kernel's `Params` declares them). */
  readonly params: ArrayBufferView;
  readonly workgroups: readonly [number, number?, number?];
}

const UNIFORM_SLOT = 256;
const UNIFORM_SLOTS = 4096;

export class KernelRunner {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly uniforms: GPUBuffer;
  private readonly arena = new Uint8Array(UNIFORM_SLOT * UNIFORM_SLOTS);
  private used = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  /** Validation errors of submitted batches, checked (and thrown) by `read` and `finish`. */
  private errors: Promise<GPUError | null>[] = [];

  constructor(readonly context: GpuContext) {
    this.uniforms = context.memory.create('uniforms', 'kernel parameters', this.arena.byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  }

  private get device(): GPUDevice {
    return this.context.device;
  }

  /** Starts a batch: its commands (and the pipelines compiled for it) run inside a validation error scope. */
  private begin(): GPUCommandEncoder {
    if (!this.encoder) {
      this.device.pushErrorScope('validation');
      this.encoder = this.device.createCommandEncoder();
    }
    return this.encoder;
  }

  pipeline(kernel: KernelSpec): GPUComputePipeline {
    let pipeline = this.pipelines.get(kernel.source);
    if (!pipeline) {
      this.begin();
      const module = this.device.createShaderModule({ label: kernel.name, code: kernel.source });
      pipeline = this.device.createComputePipeline({ label: kernel.name, layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.pipelines.set(kernel.source, pipeline);
    }
    return pipeline;
  }

  /** Records one dispatch; nothing runs until `submit` (or a read). */
  dispatch(kernel: KernelSpec, dispatch: Dispatch): void {
    if (this.used === UNIFORM_SLOTS) this.submit();
    if (dispatch.params.byteLength > UNIFORM_SLOT) throw new Error(`${kernel.name}: parameters over ${UNIFORM_SLOT} bytes`);
    const encoder = this.begin();
    const offset = this.used * UNIFORM_SLOT;
    this.arena.set(new Uint8Array(dispatch.params.buffer, dispatch.params.byteOffset, dispatch.params.byteLength), offset);
    this.used++;
    const pipeline = this.pipeline(kernel);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.uniforms, offset, size: UNIFORM_SLOT } }];
    dispatch.buffers.forEach((binding, i) => {
      entries.push({ binding: i + 1, resource: 'buffer' in binding ? { buffer: binding.buffer, offset: binding.offset, size: binding.size } : { buffer: binding } });
    });
    const group = this.device.createBindGroup({ label: kernel.name, layout: pipeline.getBindGroupLayout(0), entries });
    this.pass ??= encoder.beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, group);
    const [x, y = 1, z = 1] = dispatch.workgroups;
    this.pass.dispatchWorkgroups(x, y, z);
  }

  /** Records a buffer-to-buffer copy after the dispatches recorded so far. */
  copy(source: GPUBuffer, sourceOffset: number, target: GPUBuffer, targetOffset: number, size: number): void {
    const encoder = this.begin();
    this.pass?.end();
    this.pass = null;
    encoder.copyBufferToBuffer(source, sourceOffset, target, targetOffset, size);
  }

  /** Submits what was recorded, with its parameters. */
  submit(): void {
    if (!this.encoder) return;
    this.pass?.end();
    this.device.queue.writeBuffer(this.uniforms, 0, this.arena, 0, this.used * UNIFORM_SLOT);
    this.device.queue.submit([this.encoder.finish()]);
    this.errors.push(this.device.popErrorScope());
    this.encoder = null;
    this.pass = null;
    this.used = 0;
  }

  /** Throws the first validation error of the batches submitted since the last check. */
  private async check(): Promise<void> {
    const pending = this.errors;
    this.errors = [];
    const error = (await Promise.all(pending)).find((found) => found !== null);
    if (error) throw new Error(`WebGPU validation error: ${error.message}`);
  }

  /** Submits pending work and reads `byteLength` bytes of `buffer` back to the CPU. */
  async read(buffer: GPUBuffer, byteOffset: number, byteLength: number): Promise<ArrayBuffer> {
    const size = Math.ceil(byteLength / 4) * 4;
    const staging = this.context.memory.create('staging', 'readback', size, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    try {
      this.copy(buffer, byteOffset, staging, 0, size);
      this.submit();
      await this.check();
      await staging.mapAsync(GPUMapMode.READ);
      return staging.getMappedRange().slice(0, byteLength);
    } finally {
      this.context.memory.destroy(staging);
    }
  }

  /** The WGSL of every pipeline compiled so far: what this runner's kernels ran. */
  compiledSources(): string[] {
    return [...this.pipelines.keys()];
  }

  /** Frees the parameter arena (the pipelines go with the device). */
  destroy(): void {
    this.context.memory.destroy(this.uniforms);
  }

  /** Waits until the GPU has finished everything submitted. */
  async finish(): Promise<void> {
    this.submit();
    await this.device.queue.onSubmittedWorkDone();
    await this.check();
  }
}

/** Packs a parameter struct of 32-bit fields: integers as u32, `{ f32: x }` as f32. */
export function params(...fields: readonly (number | { readonly f32: number })[]): Uint32Array {
  const out = new Uint32Array(Math.max(4, Math.ceil(fields.length / 4) * 4));
  const asFloat = new Float32Array(out.buffer);
  fields.forEach((field, i) => {
    if (typeof field === 'number') out[i] = field;
    else asFloat[i] = field.f32;
  });
  return out;
}
