/**
 * Matmuls split over CPU cores: worker_threads share the weights and activations through SharedArrayBuffers and
 * take jobs from a shared control array (Atomics.wait / notify, no message per job). The main thread runs slice 0
 * of every job itself and blocks until the workers are done, which is what a synchronous forward pass wants.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CONTROL_SLOTS, Op, Participant, type SharedState, type SharedWeight, Slot } from './jobs.js';

/** A worker that has not finished its slice after this long is taken to be dead. */
const WORKER_TIMEOUT_MS = 120_000;

export interface MatmulJob {
  readonly op: Exclude<Op, typeof Op.stop>;
  readonly weight: number;
  readonly input: number;
  readonly output: number;
  readonly rows: number;
  readonly inDim: number;
  readonly outDim: number;
  /** Activation-scale buffer, for w8a8. */
  readonly inputScales?: number;
}

/**
 * Built, the worker is `worker.js` beside this file. From source (tests, `pnpm quantbench`) it is TypeScript, and
 * Node 20 does not apply a parent's `--import` loader hooks to a worker's entry module, so a one-line bootstrap
 * loads it through tsx's `tsImport`.
 */
function startWorker(workerData: unknown): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url), { workerData });
  const tsxPackage = createRequire(import.meta.url).resolve('tsx/package.json');
  const tsxApi = pathToFileURL(join(dirname(tsxPackage), 'dist/esm/api/index.mjs')).href;
  const worker = new URL('./worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ tsImport }) => tsImport(${JSON.stringify(worker)}, ${JSON.stringify(import.meta.url)}));`;
  return new Worker(bootstrap, { eval: true, workerData, execArgv: ['--conditions=@quantbench/source'] });
}

export class ThreadPool {
  private readonly control: Int32Array;
  private readonly main: Participant;
  private readonly workers: Worker[] = [];
  private workerError: string | null = null;

  private constructor(state: SharedState, readonly threads: number) {
    this.control = new Int32Array(state.control);
    this.main = new Participant(state, 0, threads);
  }

  /** Starts `threads − 1` workers (the main thread is participant 0) and waits until each is ready. */
  static async create(
    threads: number,
    weights: readonly SharedWeight[],
    activations: readonly SharedArrayBuffer[],
    scratchFloats: number,
  ): Promise<ThreadPool> {
    const control = new SharedArrayBuffer(CONTROL_SLOTS * Int32Array.BYTES_PER_ELEMENT);
    const state: SharedState = { control, weights, activations, scratchFloats };
    const pool = new ThreadPool(state, threads);
    const ready: Promise<void>[] = [];
    for (let index = 1; index < threads; index++) {
      const worker = startWorker({ state, index, count: threads });
      pool.workers.push(worker);
      ready.push(
        new Promise((resolve, reject) => {
          worker.once('error', reject);
          worker.once('exit', (code) => reject(new Error(`cpu engine: worker thread exited with code ${code} while starting`)));
          worker.on('message', (message: { ready?: boolean; error?: string }) => {
            if (message.ready) resolve();
            if (message.error) pool.workerError = message.error;
          });
        }),
      );
    }
    try {
      await Promise.all(ready);
    } catch (error) {
      await pool.dispose();
      throw error;
    }
    for (const worker of pool.workers) {
      worker.removeAllListeners('exit');
      worker.unref();
    }
    return pool;
  }

  run(job: MatmulJob): void {
    const c = this.control;
    c[Slot.op] = job.op;
    c[Slot.weight] = job.weight;
    c[Slot.input] = job.input;
    c[Slot.output] = job.output;
    c[Slot.rows] = job.rows;
    c[Slot.inDim] = job.inDim;
    c[Slot.outDim] = job.outDim;
    c[Slot.inputScales] = job.inputScales ?? -1;
    Atomics.store(c, Slot.done, 0);
    Atomics.store(c, Slot.failed, 0);
    Atomics.add(c, Slot.generation, 1);
    Atomics.notify(c, Slot.generation);
    this.main.runSlice();
    const started = Date.now();
    for (let done = Atomics.load(c, Slot.done); done < this.workers.length; done = Atomics.load(c, Slot.done)) {
      if (Atomics.wait(c, Slot.done, done, 1000) === 'timed-out' && Date.now() - started > WORKER_TIMEOUT_MS) {
        throw new Error(`cpu engine: a worker thread did not finish its slice within ${WORKER_TIMEOUT_MS / 1000} s`);
      }
    }
    if (Atomics.load(c, Slot.failed)) {
      throw new Error(`cpu engine: a worker thread failed${this.workerError ? `: ${this.workerError}` : ''}`);
    }
  }

  async dispose(): Promise<void> {
    Atomics.store(this.control, Slot.op, Op.stop);
    Atomics.add(this.control, Slot.generation, 1);
    Atomics.notify(this.control, Slot.generation);
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
