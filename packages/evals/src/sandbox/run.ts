/**
 * Runs a generated Python program against test cases, one bubblewrap sandbox per test (see README.md next to this
 * file for the isolation design). Scoring follows LiveCodeBench's harness: stdin tests compare stdout line by line
 * (host-side, {@link compareStdout}); functional tests call `Solution().<funcName>(*args)` with JSON-line arguments
 * and compare with `==` after tuple→list, inside the sandbox's trusted driver.
 */

import { spawn } from 'node:child_process';
import { chmod, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';

import type { CodeProblem, CodeTest } from '../types.js';
import { compareStdout } from './compare.js';
import { type DetectOptions, type SandboxEnvironment, detectSandbox, hideArgs, namespaceArgs } from './environment.js';
import { type SandboxPool, type SandboxSlot, defaultSandboxPool } from './pool.js';

export type SandboxTestStatus =
  | 'pass'
  | 'wrong-answer'
  | 'timeout'
  | 'runtime-error'
  | 'memory-limit'
  | 'output-limit'
  | 'sandbox-error';

export interface RunPythonTestsOptions extends DetectOptions {
  /** Method of `class Solution` that functional tests call (CodeProblem.funcName). Required for functional tests. */
  readonly funcName?: string;
  /** Per-test time limit (LCB's harness: 6 s). Also sets RLIMIT_CPU to ceil(s)+1. */
  readonly timeoutMs?: number;
  /** Extra wall time per test for sandbox and interpreter start-up (not part of the program's budget). */
  readonly startupGraceMs?: number;
  /** RLIMIT_AS (and RLIMIT_DATA) of the test process. */
  readonly memoryLimitBytes?: number;
  /** RLIMIT_NPROC: processes + threads of the sandbox's uid. */
  readonly maxProcesses?: number;
  /** Cap on stdout + stderr bytes; beyond it the test is killed and scored `output-limit`. */
  readonly outputLimitBytes?: number;
  /** How much of stderr's end is kept in each result. */
  readonly stderrKeepBytes?: number;
  /** Size of the sandbox's writable tmpfs (/tmp, its working directory /tmp/work) and of /dev/shm; also RLIMIT_FSIZE. */
  readonly tmpfsBytes?: number;
  /** Stop at the first failing test in order, as LCB does per problem (later tests are not run / discarded). */
  readonly stopOnFirstFailure?: boolean;
  /**
   * `lcb` (default): stdin programs run as LCB's harness runs them (import prelude, body wrapped in a function,
   * `sys.stdin`/`open` mocked with the input, `SystemExit` swallowed). `script`: run as a plain `__main__` script
   * with the input on its real stdin. Functional tests always follow LCB.
   */
  readonly harness?: 'lcb' | 'script';
  /** Shared pool bounding concurrent sandboxes (default: one per CPU, process-wide). */
  readonly pool?: SandboxPool;
  readonly signal?: AbortSignal;
}

export interface SandboxTestResult {
  /** Index into the `tests` argument. */
  readonly index: number;
  readonly status: SandboxTestStatus;
  /** Wall time of the sandboxed process, start-up included. */
  readonly durationMs: number;
  /** The end of stderr (tracebacks), at most `stderrKeepBytes`. */
  readonly stderr: string;
  /** The start of stdout, at most `stderrKeepBytes` (for diagnosing wrong answers). */
  readonly stdout: string;
  /** Why it failed (wrong line, exception repr, …). */
  readonly message?: string;
  /** bwrap's exit status (128+n when the program died of signal n); null when killed by the host. */
  readonly exitCode: number | null;
}

export interface RunPythonTestsResult {
  /** True when there was at least one test and every test passed. */
  readonly passed: boolean;
  /** In test order; with `stopOnFirstFailure` it ends at the first failure. */
  readonly results: readonly SandboxTestResult[];
  readonly durationMs: number;
}

export const SANDBOX_DEFAULTS = {
  timeoutMs: 6_000,
  startupGraceMs: 3_000,
  memoryLimitBytes: 2 * 1024 ** 3,
  maxProcesses: 32,
  outputLimitBytes: 32 * 1024 ** 2,
  stderrKeepBytes: 4096,
  tmpfsBytes: 64 * 1024 ** 2,
  stopOnFirstFailure: true,
  harness: 'lcb',
} as const;

type Resolved = Required<Omit<RunPythonTestsOptions, 'funcName' | 'pool' | 'signal' | 'python' | 'bwrap'>> & {
  readonly funcName: string | undefined;
};

const SANDBOX_JOB_DIR = '/tmp/.qb-job';
const STATUS_LIMIT = 1 << 20;

/** The child's environment: nothing from the host's (tokens, proxies) is passed on. */
function childEnv(env: SandboxEnvironment): NodeJS.ProcessEnv {
  return {
    PATH: `${dirname(env.python)}:/usr/local/bin:/usr/bin:/bin`,
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    HOME: '/tmp/work',
    TMPDIR: '/tmp',
    OPENBLAS_NUM_THREADS: '1',
    OMP_NUM_THREADS: '1',
    MKL_NUM_THREADS: '1',
  };
}

/** The full bwrap command line for one test. */
export function sandboxArgs(env: SandboxEnvironment, jobDir: string, test: CodeTest, o: Resolved, slot: SandboxSlot): string[] {
  const tmpfs = String(o.tmpfsBytes);
  const cpuSeconds = Math.ceil(o.timeoutMs / 1000) + 1;
  return [
    ...namespaceArgs(env),
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    '--proc', '/proc',
    '--size', tmpfs, '--perms', '1777', '--tmpfs', '/tmp',
    '--size', tmpfs, '--perms', '1777', '--tmpfs', '/dev/shm',
    ...hideArgs(env),
    '--ro-bind', jobDir, SANDBOX_JOB_DIR,
    '--chdir', '/tmp',
    env.python, '-I', '-B', '-X', 'utf8', `${SANDBOX_JOB_DIR}/driver.py`,
    '--mode', test.testtype,
    '--harness', o.harness,
    '--code', `${SANDBOX_JOB_DIR}/solution.py`,
    ...(test.testtype === 'functional' && o.funcName ? ['--func', o.funcName] : []),
    '--mem', String(o.memoryLimitBytes),
    '--cpu', String(cpuSeconds),
    '--nproc', String(o.maxProcesses),
    '--fsize', tmpfs,
    '--nofile', '256',
    '--output', String(o.outputLimitBytes),
    ...(env.root ? ['--uid', String(slot.uid), '--gid', String(slot.uid)] : []),
  ];
}

interface StatusLine {
  readonly event?: string;
  readonly status?: string;
  readonly error?: string;
  readonly got?: string;
  readonly expected?: string;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Runs one test in a fresh sandbox. Never throws: infrastructure failures are `sandbox-error`. */
export function runOneTest(
  env: SandboxEnvironment,
  jobDir: string,
  test: CodeTest,
  index: number,
  o: Resolved,
  slot: SandboxSlot,
  signal?: AbortSignal,
): Promise<SandboxTestResult> {
  return new Promise((resolve) => {
    const start = performance.now();
    const child = spawn(env.bwrap, sandboxArgs(env, jobDir, test, o, slot), {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      detached: true,
      env: childEnv(env),
    });
    const stdoutChunks: Buffer[] = [];
    let outputBytes = 0;
    let stderrTail = Buffer.alloc(0);
    let statusText = '';
    let exited = false;
    let killedFor: 'timeout' | 'output-limit' | 'aborted' | undefined;
    let spawnError: Error | undefined;

    const kill = (why: typeof killedFor): void => {
      if (exited || killedFor) return;
      killedFor = why;
      killGroup(child.pid);
    };
    const timer = setTimeout(() => kill('timeout'), o.timeoutMs + o.startupGraceMs);
    const onAbort = (): void => kill('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });

    const countOutput = (n: number): void => {
      outputBytes += n;
      if (outputBytes > o.outputLimitBytes) kill('output-limit');
    };
    child.stdout?.on('data', (chunk: Buffer) => {
      countOutput(chunk.length);
      if (!killedFor) stdoutChunks.push(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      countOutput(chunk.length);
      stderrTail = Buffer.concat([stderrTail, chunk]);
      if (stderrTail.length > 2 * o.stderrKeepBytes) stderrTail = stderrTail.subarray(-o.stderrKeepBytes);
    });
    (child.stdio[3] as Readable | null)?.on('data', (chunk: Buffer) => {
      if (statusText.length < STATUS_LIMIT) statusText += chunk.toString('utf8');
    });
    child.on('error', (error) => {
      spawnError = error;
    });
    child.on('exit', () => {
      exited = true;
    });
    child.stdin?.on('error', () => {
      // EPIPE: the program did not read all its input; not an error.
    });
    const payload =
      test.testtype === 'functional' ? JSON.stringify({ input: test.input, expected: test.output }) : test.input;
    child.stdin?.end(payload);

    child.on('close', (code, sig) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      const durationMs = performance.now() - start;
      const tail = stderrTail.subarray(-o.stderrKeepBytes).toString('utf8');
      const exitCode = killedFor ? null : code;
      const stdout = Buffer.concat(stdoutChunks).subarray(0, o.stderrKeepBytes).toString('utf8');
      const done = (status: SandboxTestStatus, message?: string): void =>
        resolve({ index, status, durationMs, stderr: tail, stdout, exitCode, ...(message === undefined ? {} : { message }) });

      const lines: StatusLine[] = [];
      for (const line of statusText.split('\n')) {
        if (!line.trim()) continue;
        try {
          const parsed: unknown = JSON.parse(line);
          if (parsed && typeof parsed === 'object') lines.push(parsed as StatusLine);
        } catch {
          // the program wrote garbage to fd 3: ignore it
        }
      }
      const ready = lines.some((l) => l.event === 'ready');
      const final = [...lines].reverse().find((l) => l.status !== undefined);

      if (spawnError) return done('sandbox-error', `could not start bwrap: ${spawnError.message}`);
      if (killedFor === 'aborted') return done('sandbox-error', 'aborted');
      if (killedFor === 'timeout') return done('timeout', `killed after ${o.timeoutMs + o.startupGraceMs} ms wall time`);
      if (killedFor === 'output-limit' || final?.status === 'output-limit') {
        return done('output-limit', `more than ${o.outputLimitBytes} bytes of output`);
      }
      if (!ready) {
        const setup = lines.find((l) => l.event === 'setup-failed');
        return done('sandbox-error', `sandbox did not start (exit ${code ?? sig}): ${setup?.error ?? tail.trim()}`);
      }
      switch (final?.status) {
        case 'finished':
          if (test.testtype === 'stdin') {
            const cmp = compareStdout(Buffer.concat(stdoutChunks).toString('utf8'), test.output);
            if (cmp.verdict === 'pass') return done('pass');
            return cmp.verdict === 'error' ? done('runtime-error', cmp.message) : done('wrong-answer', cmp.message);
          }
          return done('runtime-error', 'functional test finished without a verdict');
        case 'pass':
          return test.testtype === 'functional' ? done('pass') : done('runtime-error', 'unexpected verdict');
        case 'wrong-answer':
          return done('wrong-answer', `got ${final.got ?? '?'}, expected ${final.expected ?? '?'}`);
        case 'memory-limit':
          return done('memory-limit', `MemoryError under RLIMIT_AS=${o.memoryLimitBytes}`);
        case 'runtime-error':
          return done('runtime-error', final.error);
        default:
          break;
      }
      // No verdict: the process died (signal) or left through os._exit.
      if (code === 128 + 24) return done('timeout', 'CPU time limit (SIGXCPU)');
      if (code === 128 + 9) return done('memory-limit', 'killed by SIGKILL (out of memory?)');
      if (code === 0 && test.testtype === 'stdin' && o.harness === 'script') {
        const cmp = compareStdout(Buffer.concat(stdoutChunks).toString('utf8'), test.output);
        if (cmp.verdict === 'pass') return done('pass');
        return done(cmp.verdict === 'error' ? 'runtime-error' : 'wrong-answer', cmp.message);
      }
      const how = code !== null && code > 128 ? `died of signal ${code - 128}` : `exited with ${code ?? sig}`;
      return done('runtime-error', `${how} without finishing`);
    });
  });
}

function resolveOptions(options: RunPythonTestsOptions): Resolved {
  const o = { ...SANDBOX_DEFAULTS, ...stripUndefined(options), funcName: options.funcName };
  for (const key of ['timeoutMs', 'memoryLimitBytes', 'maxProcesses', 'outputLimitBytes', 'tmpfsBytes'] as const) {
    const v = o[key];
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${key} must be a positive number, got ${v}`);
  }
  return o as Resolved;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Runs `program` against every test, each in its own sandbox, at most `pool.size` at once across the process.
 * Rejects only when the sandbox cannot be set up at all (SandboxUnavailableError: what to install), on bad options,
 * or when `signal` aborts; everything the program does is a per-test status.
 */
export async function runPythonTests(
  program: string,
  tests: readonly CodeTest[],
  options: RunPythonTestsOptions = {},
): Promise<RunPythonTestsResult> {
  const o = resolveOptions(options);
  if (tests.some((t) => t.testtype === 'functional') && !o.funcName) {
    throw new Error('functional tests need options.funcName (the Solution method to call)');
  }
  const env = await detectSandbox(options);
  const pool = options.pool ?? defaultSandboxPool();
  const start = performance.now();
  const jobDir = await mkdtemp(join(tmpdir(), 'qb-sandbox-'));
  try {
    await chmod(jobDir, 0o755);
    await writeFile(join(jobDir, 'solution.py'), program, { mode: 0o644 });
    await copyFile(env.driver, join(jobDir, 'driver.py'));
    await chmod(join(jobDir, 'driver.py'), 0o644);

    const controllers = tests.map(() => new AbortController());
    const onAbort = (): void => controllers.forEach((c) => c.abort(options.signal?.reason));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    const results: Array<SandboxTestResult | undefined> = new Array(tests.length);
    let firstFailure = tests.length;
    try {
      await Promise.all(
        tests.map(async (test, i) => {
          const ctl = controllers[i] as AbortController;
          let slot: SandboxSlot;
          try {
            slot = await pool.acquire(ctl.signal);
          } catch {
            return;
          }
          try {
            if (ctl.signal.aborted) return;
            const result = await runOneTest(env, jobDir, test, i, o, slot, ctl.signal);
            if (ctl.signal.aborted) return;
            results[i] = result;
            if (result.status !== 'pass' && o.stopOnFirstFailure && i < firstFailure) {
              firstFailure = i;
              controllers.forEach((c, j) => {
                if (j > i) c.abort();
              });
            }
          } finally {
            slot.release();
          }
        }),
      );
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    options.signal?.throwIfAborted();
    const ordered = (o.stopOnFirstFailure ? results.slice(0, firstFailure + 1) : results).filter(
      (r): r is SandboxTestResult => r !== undefined,
    );
    const passed = tests.length > 0 && ordered.length === tests.length && ordered.every((r) => r.status === 'pass');
    return { passed, results: ordered, durationMs: performance.now() - start };
  } finally {
    await rm(jobDir, { recursive: true, force: true });
  }
}

/** Which of a problem's tests to run. */
export type TestSelection = 'public' | 'private' | 'all';

export interface CodeProblemTestResult extends SandboxTestResult {
  /** The list the test came from, and its index there. */
  readonly set: 'public' | 'private';
  readonly setIndex: number;
}

export interface CodeProblemRunResult extends RunPythonTestsResult {
  readonly results: readonly CodeProblemTestResult[];
}

/** {@link runPythonTests} on a CodeProblem's tests (LCB grades on public then private), with its funcName. */
export async function runCodeProblem(
  problem: CodeProblem,
  program: string,
  options: RunPythonTestsOptions & { readonly tests?: TestSelection } = {},
): Promise<CodeProblemRunResult> {
  const which = options.tests ?? 'all';
  const labelled = [
    ...(which === 'private' ? [] : problem.publicTests.map((test, i) => ({ test, set: 'public' as const, setIndex: i }))),
    ...(which === 'public' ? [] : problem.privateTests.map((test, i) => ({ test, set: 'private' as const, setIndex: i }))),
  ];
  const run = await runPythonTests(
    program,
    labelled.map((l) => l.test),
    { ...options, funcName: options.funcName ?? problem.funcName },
  );
  return {
    ...run,
    results: run.results.map((r) => {
      const l = labelled[r.index] as (typeof labelled)[number];
      return { ...r, set: l.set, setIndex: l.setIndex };
    }),
  };
}
