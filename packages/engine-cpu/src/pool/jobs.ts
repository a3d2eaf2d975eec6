/**
 * The work the thread pool shares: matmuls over output rows. A job lives in a small shared Int32Array so that
 * the main thread and the workers agree on it without messages; every participant runs the same kernel on its
 * own slice of output rows.
 */
import { matmulBf16 } from '../kernels/matmul-bf16.js';
import { matmulFp8W8a16 } from '../kernels/matmul-fp8-w8a16.js';
import { matmulFp8W8a8 } from '../kernels/matmul-fp8-w8a8.js';

export const Op = { stop: 0, matmulBf16: 1, matmulFp8W8a16: 2, matmulFp8W8a8: 3 } as const;
export type Op = (typeof Op)[keyof typeof Op];

/** Slots of the control array. */
export const Slot = {
  generation: 0,
  done: 1,
  failed: 2,
  op: 3,
  weight: 4,
  input: 5,
  output: 6,
  rows: 7,
  inDim: 8,
  outDim: 9,
  inputScales: 10,
} as const;
export const CONTROL_SLOTS = 16;

export type SharedWeight =
  | { readonly kind: 'bf16'; readonly bits: SharedArrayBuffer }
  | { readonly kind: 'fp8'; readonly codes: SharedArrayBuffer; readonly scaleInv: SharedArrayBuffer };

/** What every participant sees: the weights and activation buffers, registered once when the pool starts. */
export interface SharedState {
  readonly control: SharedArrayBuffer;
  readonly weights: readonly SharedWeight[];
  readonly activations: readonly SharedArrayBuffer[];
  /** Floats of per-participant scratch (one weight row). */
  readonly scratchFloats: number;
}

type WeightView = { kind: 'bf16'; bits: Uint16Array } | { kind: 'fp8'; codes: Uint8Array; scaleInv: Float32Array };

/** Typed views over the shared state, as one participant uses them. */
export class Participant {
  private readonly control: Int32Array;
  private readonly weights: WeightView[];
  private readonly activations: Float32Array[];
  private readonly scratch: Float32Array;

  constructor(
    state: SharedState,
    readonly index: number,
    readonly count: number,
  ) {
    this.control = new Int32Array(state.control);
    this.weights = state.weights.map((weight) =>
      weight.kind === 'bf16'
        ? { kind: 'bf16', bits: new Uint16Array(weight.bits) }
        : { kind: 'fp8', codes: new Uint8Array(weight.codes), scaleInv: new Float32Array(weight.scaleInv) },
    );
    this.activations = state.activations.map((buffer) => new Float32Array(buffer));
    this.scratch = new Float32Array(state.scratchFloats);
  }

  /** Runs this participant's share of the job in the control array. */
  runSlice(): void {
    const c = this.control;
    const op = c[Slot.op] as Op;
    const outDim = c[Slot.outDim]!;
    const share = Math.ceil(outDim / this.count);
    const oStart = Math.min(outDim, this.index * share);
    const oEnd = Math.min(outDim, oStart + share);
    if (oStart === oEnd) return;
    const weight = this.weights[c[Slot.weight]!]!;
    const x = this.activations[c[Slot.input]!]!;
    const y = this.activations[c[Slot.output]!]!;
    const rows = c[Slot.rows]!;
    const inDim = c[Slot.inDim]!;
    if (op === Op.matmulBf16 && weight.kind === 'bf16') {
      matmulBf16(y, x, weight.bits, rows, inDim, outDim, oStart, oEnd, this.scratch);
    } else if (op === Op.matmulFp8W8a16 && weight.kind === 'fp8') {
      matmulFp8W8a16(y, x, weight.codes, weight.scaleInv, rows, inDim, outDim, oStart, oEnd, this.scratch);
    } else if (op === Op.matmulFp8W8a8 && weight.kind === 'fp8') {
      const scales = this.activations[c[Slot.inputScales]!]!;
      matmulFp8W8a8(y, x, scales, weight.codes, weight.scaleInv, rows, inDim, outDim, oStart, oEnd, this.scratch);
    } else {
      throw new Error(`cpu engine: op ${op} does not apply to a ${weight.kind} weight`);
    }
  }
}
