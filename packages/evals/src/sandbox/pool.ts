/**
 * A fixed number of sandbox slots shared by every caller in the process, so that concurrent problems never run more
 * than `size` sandboxes at once. Each slot has its own unprivileged uid (used when running as root), so
 * RLIMIT_NPROC counts the processes of one sandbox only.
 */

import { availableParallelism } from 'node:os';

export interface SandboxSlot {
  readonly index: number;
  /** The host uid/gid the driver drops to when started as root. */
  readonly uid: number;
  release(): void;
}

/** Base of the per-slot uids: high, unnamed, and offset by the host pid so two processes do not share them. */
const UID_BASE = 1_000_000_000;

export class SandboxPool {
  readonly size: number;
  private readonly free: number[];
  private readonly waiters: Array<(slot: number) => void> = [];
  private readonly uidBase: number;

  constructor(size: number = availableParallelism()) {
    if (!Number.isInteger(size) || size < 1 || size > 1000) throw new RangeError(`pool size ${size} not in 1..1000`);
    this.size = size;
    this.free = Array.from({ length: size }, (_, i) => i);
    this.uidBase = UID_BASE + (process.pid % 100_000) * 1000;
  }

  /** The uids this pool's sandboxes drop to when running as root (`first` … `first + size - 1`). */
  get firstUid(): number {
    return this.uidBase;
  }

  /** Waits for a free slot; rejects if `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<SandboxSlot> {
    signal?.throwIfAborted();
    const make = (index: number): SandboxSlot => {
      let released = false;
      return {
        index,
        uid: this.uidBase + index,
        release: () => {
          if (released) return;
          released = true;
          const next = this.waiters.shift();
          if (next) next(index);
          else this.free.push(index);
        },
      };
    };
    const index = this.free.shift();
    if (index !== undefined) return Promise.resolve(make(index));
    return new Promise((resolve, reject) => {
      const waiter = (slot: number): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(make(slot));
      };
      const onAbort = (): void => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }
}

let shared: SandboxPool | undefined;

/** The process-wide default pool (one slot per available CPU). */
export function defaultSandboxPool(): SandboxPool {
  shared ??= new SandboxPool();
  return shared;
}
