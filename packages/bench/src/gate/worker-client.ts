/**
 * The gate's side of a worker: starts `apps/cli/src/gate-worker.ts` of a source tree in a process of its own
 * (the gate's Node, that tree's code and installed packages) and sends it requests one at a time.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { createInterface } from 'node:readline';
import type { z } from 'zod';
import { PROTOCOL_PREFIX, type RequestBody, ResponseSchema } from './protocol.js';

export type TreeLabel = 'base' | 'candidate';

export interface WorkerStart {
  readonly label: TreeLabel;
  /** The source tree's root. */
  readonly root: string;
  readonly args: readonly string[];
  /** Extra environment (the test-only slowdown). */
  readonly env?: Readonly<Record<string, string>>;
  /** Every line the worker prints besides its answers (stderr and stray stdout), labelled. */
  readonly log: (line: string) => void;
}

const LAST_LINES = 20;

export class WorkerClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly lastLines: string[] = [];
  private exited: Error | undefined;
  private readonly exit: Promise<void>;

  private constructor(
    readonly label: TreeLabel,
    private readonly child: ChildProcessWithoutNullStreams,
    log: (line: string) => void,
  ) {
    const remember = (line: string): void => {
      this.lastLines.push(line);
      if (this.lastLines.length > LAST_LINES) this.lastLines.shift();
      log(`[${label}] ${line}`);
    };
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith(PROTOCOL_PREFIX)) return remember(line);
      const response = ResponseSchema.safeParse(JSON.parse(line.slice(PROTOCOL_PREFIX.length)));
      if (!response.success) return remember(`unreadable answer: ${line}`);
      const waiting = this.pending.get(response.data.id);
      if (!waiting) return remember(`answer to no request: ${line}`);
      this.pending.delete(response.data.id);
      if (response.data.ok) waiting.resolve(response.data.result);
      else waiting.reject(new Error(`${label} worker: ${response.data.error}`));
    });
    createInterface({ input: child.stderr }).on('line', remember);
    this.exit = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exited = new Error(`${label} worker exited (${signal ?? `code ${code}`}); its last lines:\n  ${this.lastLines.join('\n  ') || '(none)'}`);
        for (const waiting of this.pending.values()) waiting.reject(this.exited);
        this.pending.clear();
        resolve();
      });
    });
  }

  static start(options: WorkerStart): WorkerClient {
    const child = spawn(process.execPath, ['--expose-gc', '--conditions=@quantbench/source', '--import', 'tsx', 'apps/cli/src/gate-worker.ts', ...options.args], {
      cwd: options.root,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new WorkerClient(options.label, child, options.log);
  }

  request<T>(body: RequestBody, schema: z.ZodType<T>): Promise<T> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin.write(`${JSON.stringify({ id, ...body })}\n`);
    }).then((result) => {
      const parsed = schema.safeParse(result);
      if (!parsed.success) throw new Error(`${this.label} worker: unexpected answer to '${body.op}': ${parsed.error.message}`);
      return parsed.data;
    });
  }

  /** Asks the worker to exit and waits until it has; kills it if it is still there after `graceMs`. */
  async close(graceMs = 30_000): Promise<void> {
    if (!this.exited) {
      this.child.stdin.write(`${JSON.stringify({ id: this.nextId++, op: 'exit' })}\n`);
      this.child.stdin.end();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exit;
      clearTimeout(timer);
    }
  }

  /**
   * Restricts the worker, every thread of it, to `cpus` (a taskset list: `1`, `0-1`); threads it starts later
   * inherit it. Throws where taskset (util-linux) is missing or refuses.
   */
  async pin(cpus: string): Promise<void> {
    if (this.exited || this.child.pid === undefined) return;
    await promisify(execFile)('taskset', ['--all-tasks', '--cpu-list', '--pid', cpus, String(this.child.pid)]);
  }
}
