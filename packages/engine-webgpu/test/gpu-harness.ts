/**
 * A shared GPU for kernel tests: one device per test file, plus helpers to upload typed arrays and read them
 * back. On this machine and in CI it is SwiftShader; the tests must run there and fail on error, never skip.
 */
import { createGpuContext, type GpuContext, KernelRunner } from '../src/gpu/index.js';

let context: Promise<GpuContext> | null = null;

export function gpu(): Promise<GpuContext> {
  context ??= createGpuContext();
  return context;
}

export async function runner(): Promise<KernelRunner> {
  return new KernelRunner(await gpu());
}

const STORAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** A storage buffer holding `data` (any typed array; bytes uploaded as they are). */
export async function upload(data: ArrayBufferView, label = 'test input'): Promise<GPUBuffer> {
  const ctx = await gpu();
  const buffer = ctx.memory.create('test', label, data.byteLength, STORAGE());
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
  padded.set(bytes);
  ctx.device.queue.writeBuffer(buffer, 0, padded);
  return buffer;
}

/** An empty storage buffer of `bytes` bytes. */
export async function empty(bytes: number, label = 'test output'): Promise<GPUBuffer> {
  return (await gpu()).memory.create('test', label, bytes, STORAGE());
}

export async function readF32(run: KernelRunner, buffer: GPUBuffer, count: number): Promise<Float32Array> {
  return new Float32Array(await run.read(buffer, 0, count * 4));
}

export async function readU32(run: KernelRunner, buffer: GPUBuffer, count: number): Promise<Uint32Array> {
  return new Uint32Array(await run.read(buffer, 0, count * 4));
}
