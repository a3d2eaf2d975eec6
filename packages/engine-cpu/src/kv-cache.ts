/**
 * Per-sequence KV cache in float32: for each sequence slot and layer, K and V as [capacity, kvHeads, headDim].
 * A slot's capacity starts small and doubles as the sequence grows (up to maxContext), so memory follows the
 * tokens actually held rather than maxBatch × maxContext.
 */
const INITIAL_CAPACITY = 256;

interface SlotCache {
  capacity: number;
  length: number;
  keys: Float32Array[];
  values: Float32Array[];
}

export class KvCache {
  private readonly slots: SlotCache[];
  private bytesPeak = 0;

  constructor(
    private readonly layers: number,
    private readonly rowSize: number,
    readonly maxBatch: number,
    readonly maxContext: number,
  ) {
    this.slots = Array.from({ length: maxBatch }, () => ({ capacity: 0, length: 0, keys: [], values: [] }));
  }

  private slot(sequence: number): SlotCache {
    const slot = this.slots[sequence];
    if (!slot) throw new RangeError(`cpu engine: sequence ${sequence} is not a slot (0 … ${this.maxBatch - 1})`);
    return slot;
  }

  length(sequence: number): number {
    return this.slot(sequence).length;
  }

  /** Makes room for `needed` positions, keeping what is cached. */
  reserve(sequence: number, needed: number): void {
    const slot = this.slot(sequence);
    if (needed > this.maxContext) {
      throw new RangeError(`cpu engine: sequence ${sequence} would hold ${needed} tokens, over maxContext ${this.maxContext}`);
    }
    if (needed <= slot.capacity) return;
    let capacity = Math.max(INITIAL_CAPACITY, slot.capacity);
    while (capacity < needed) capacity *= 2;
    capacity = Math.min(capacity, this.maxContext);
    const grow = (old: Float32Array | undefined): Float32Array => {
      const next = new Float32Array(capacity * this.rowSize);
      if (old) next.set(old.subarray(0, slot.length * this.rowSize));
      return next;
    };
    for (let layer = 0; layer < this.layers; layer++) {
      slot.keys[layer] = grow(slot.keys[layer]);
      slot.values[layer] = grow(slot.values[layer]);
    }
    slot.capacity = capacity;
    this.bytesPeak = Math.max(this.bytesPeak, this.bytes());
  }

  keys(sequence: number, layer: number): Float32Array {
    return this.slot(sequence).keys[layer]!;
  }

  values(sequence: number, layer: number): Float32Array {
    return this.slot(sequence).values[layer]!;
  }

  setLength(sequence: number, length: number): void {
    this.slot(sequence).length = length;
  }

  /** Forgets a sequence; its memory is released. */
  reset(sequence: number): void {
    const slot = this.slot(sequence);
    slot.capacity = 0;
    slot.length = 0;
    slot.keys = [];
    slot.values = [];
  }

  bytes(): number {
    return this.slots.reduce((sum, slot) => sum + 2 * this.layers * slot.capacity * this.rowSize * 4, 0);
  }

  peakBytes(): number {
    return this.bytesPeak;
  }
}
