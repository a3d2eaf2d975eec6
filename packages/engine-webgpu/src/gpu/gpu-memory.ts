/**
 * WebGPU has no memory query, so the engine accounts for every buffer it creates: bytes live now and at peak.
 * This is what the engine reports as its VRAM.
 */
export interface BufferAccounting {
  readonly bytesNow: number;
  readonly bytesPeak: number;
  readonly byCategory: Readonly<Record<string, number>>;
}

export class GpuMemory {
  private now = 0;
  private peak = 0;
  private readonly categories = new Map<string, number>();
  private readonly live = new Map<GPUBuffer, { size: number; category: string }>();

  constructor(private readonly device: GPUDevice) {}

  /** Creates a buffer counted under `category` (weights, kv-cache, activations, staging, ...). */
  create(category: string, label: string, size: number, usage: GPUBufferUsageFlags): GPUBuffer {
    // Storage bindings must be a multiple of 4 bytes; round up so odd-sized tensors still bind.
    const alignedSize = Math.max(4, Math.ceil(size / 4) * 4);
    const buffer = this.device.createBuffer({ label, size: alignedSize, usage });
    this.live.set(buffer, { size: alignedSize, category });
    this.now += alignedSize;
    this.peak = Math.max(this.peak, this.now);
    this.categories.set(category, (this.categories.get(category) ?? 0) + alignedSize);
    return buffer;
  }

  destroy(buffer: GPUBuffer): void {
    const entry = this.live.get(buffer);
    if (!entry) return;
    this.live.delete(buffer);
    this.now -= entry.size;
    this.categories.set(entry.category, (this.categories.get(entry.category) ?? 0) - entry.size);
    buffer.destroy();
  }

  destroyAll(): void {
    for (const buffer of [...this.live.keys()]) this.destroy(buffer);
  }

  accounting(): BufferAccounting {
    return { bytesNow: this.now, bytesPeak: this.peak, byCategory: Object.fromEntries(this.categories) };
  }
}
