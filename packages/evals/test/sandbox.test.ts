/**
 * The code-execution sandbox, end to end: every case runs real Python under bubblewrap. Nothing here is skipped — a
 * machine without bwrap/python3 fails loudly (scripts/setup.sh installs bubblewrap when run as root).
 */

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import type { CodeTest } from '../src/types.js';
import {
  defaultSandboxPool,
  detectSandbox,
  runCodeProblem,
  runPythonTests,
  SandboxUnavailableError,
  type RunPythonTestsOptions,
} from '../src/sandbox/index.js';

const stdin = (input: string, output: string): CodeTest => ({ input, output, testtype: 'stdin' });
const functional = (input: string, output: string): CodeTest => ({ input, output, testtype: 'functional' });

/** Short limits so the bad cases finish quickly. */
const fast: RunPythonTestsOptions = { timeoutMs: 1500, startupGraceMs: 1500 };

/**
 * Polls `check` every 50 ms until it holds; returns false only if it still does not after HANG_GUARD_MS, a guard
 * against a hang (processes that never go away), not a speed bound: a busy machine reaps in well under that.
 */
const HANG_GUARD_MS = 300_000;
async function eventually(check: () => boolean): Promise<boolean> {
  const until = performance.now() + HANG_GUARD_MS;
  while (!check() && performance.now() < until) await new Promise((res) => setTimeout(res, 50));
  return check();
}

/** Host processes whose command line contains `token` (the sandbox's processes are visible from the host). */
function processesWith(token: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(token)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** Host processes owned by the default pool's sandbox uids (as root the sandboxes drop to those). */
function sandboxProcesses(): string[] {
  if (process.getuid?.() !== 0) return [];
  const pool = defaultSandboxPool();
  const found: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
      if (uid >= pool.firstUid && uid < pool.firstUid + pool.size) found.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

const token = (): string => randomBytes(6).toString('hex');

describe('sandbox environment', () => {
  it('finds python3 and a working bubblewrap on this machine', async () => {
    const env = await detectSandbox();
    expect(env.bwrap).toMatch(/bwrap$/);
    expect(env.pythonVersion).toMatch(/^3\./);
  });

  it('names the fix when bubblewrap or python3 is missing', async () => {
    const noBwrap = detectSandbox({ bwrap: '/nonexistent/bwrap' });
    await expect(noBwrap).rejects.toBeInstanceOf(SandboxUnavailableError);
    await expect(noBwrap).rejects.toThrow(/apt-get install -y bubblewrap/);
    await expect(detectSandbox({ python: '/nonexistent/python3' })).rejects.toThrow(/apt-get install -y python3/);
    await expect(runPythonTests('print(1)', [stdin('', '1')], { bwrap: '/nonexistent/bwrap' })).rejects.toThrow(
      /bubblewrap/,
    );
  });
});

describe('runPythonTests: correct programs', () => {
  it('passes a correct stdin program on every test, reading stdin several ways', async () => {
    const program = [
      'import sys',
      'n = int(input())',
      'nums = list(map(int, sys.stdin.readline().split()))',
      'rest = sys.stdin.read().split()',
      'print(n, sum(nums))',
      'print(len(rest))',
    ].join('\n');
    const r = await runPythonTests(program, [
      stdin('3\n1 2 3\nx y\n', '3 6\n2'),
      stdin('1\n10\n', '1 10\n0\n'),
      stdin('2\n-1 1\na b c', '  2 0  \n3'),
    ]);
    expect(r.results.map((t) => t.status)).toEqual(['pass', 'pass', 'pass']);
    expect(r.passed).toBe(true);
    for (const t of r.results) expect(t.durationMs).toBeGreaterThan(0);
  });

  it('runs LCB-style: prelude imports, __main__ guard, sys.exit swallowed', async () => {
    const program = [
      'def main():',
      '    a, b = map(int, input().split())',
      '    print(gcd(a, b))  # gcd comes from the harness prelude (from math import *)',
      '    sys.exit(0)',
      "if __name__ == '__main__':",
      '    main()',
    ].join('\n');
    const r = await runPythonTests(program, [stdin('12 18\n', '6\n')]);
    expect(r.results[0]?.status).toBe('pass');
  });

  it('script harness gives the program its real stdin (sys.stdin.buffer)', async () => {
    const program = 'import sys\ndata = sys.stdin.buffer.read().split()\nprint(sum(map(int, data)))';
    const r = await runPythonTests(program, [stdin('1 2\n3\n', '6')], { harness: 'script' });
    expect(r.results[0]?.status).toBe('pass');
  });

  it('compares with the float/decimal fallback and trailing whitespace tolerance', async () => {
    const r = await runPythonTests('print("1.50 2")\nprint("x   ")', [stdin('', '1.5 2.0\nx\n\n')]);
    expect(r.results[0]?.status).toBe('pass');
  });

  it('passes a correct functional program (JSON-line args, tuple result accepted as a list)', async () => {
    const program = [
      'class Solution:',
      '    def twoSum(self, nums: List[int], target: int) -> List[int]:',
      '        seen = {}',
      '        for i, x in enumerate(nums):',
      '            if target - x in seen:',
      '                return (seen[target - x], i)',
      '            seen[x] = i',
    ].join('\n');
    const r = await runPythonTests(
      program,
      [functional('[2, 7, 11, 15]\n9', '[0, 1]'), functional('[3, 2, 4]\n6', '[1, 2]')],
      { funcName: 'twoSum' },
    );
    expect(r.results.map((t) => t.status)).toEqual(['pass', 'pass']);
    expect(r.passed).toBe(true);
  });

  it('runCodeProblem runs public then private tests and labels them', async () => {
    const r = await runCodeProblem(
      {
        kind: 'code',
        id: 'p',
        title: 't',
        question: 'q',
        starterCode: 'class Solution:\n    def double(self, x: int) -> int:\n        ',
        funcName: 'double',
        publicTests: [functional('2', '4')],
        privateTests: [functional('5', '10'), functional('0', '0')],
        platform: 'leetcode',
        difficulty: 'easy',
        contestDate: '2024-01-01',
      },
      'class Solution:\n    def double(self, x):\n        return 2 * x',
    );
    expect(r.passed).toBe(true);
    expect(r.results.map((t) => `${t.set}${t.setIndex}`)).toEqual(['public0', 'private0', 'private1']);
  });
});

describe('runPythonTests: failures are scored, never thrown', () => {
  it('wrong answers (stdin and functional), stopping at the first failure by default', async () => {
    const r = await runPythonTests('print(int(input()) + 1)', [stdin('1', '2'), stdin('1', '3'), stdin('5', '6')]);
    expect(r.passed).toBe(false);
    expect(r.results.map((t) => t.status)).toEqual(['pass', 'wrong-answer']);
    expect(r.results[1]?.message).toMatch(/Wrong answer/);

    const all = await runPythonTests('print(int(input()) + 1)', [stdin('1', '3'), stdin('5', '6')], {
      stopOnFirstFailure: false,
    });
    expect(all.results.map((t) => t.status)).toEqual(['wrong-answer', 'pass']);

    const f = await runPythonTests(
      'class Solution:\n    def f(self, a):\n        return [a, [a]]',
      [functional('1', '[1, [1]]'), functional('1', '[1, 1]')],
      { funcName: 'f', stopOnFirstFailure: false },
    );
    expect(f.results.map((t) => t.status)).toEqual(['pass', 'wrong-answer']);
  });

  it('a syntax error is a runtime error', async () => {
    const r = await runPythonTests('def f(:\n  pass\nprint(1)', [stdin('', '1')]);
    expect(r.results[0]?.status).toBe('runtime-error');
    expect(r.results[0]?.stderr).toMatch(/SyntaxError/);
    const f = await runPythonTests('class Solution\n  x', [functional('1', '1')], { funcName: 'f' });
    expect(f.results[0]?.status).toBe('runtime-error');
  });

  it('an exception is a runtime error with the traceback in stderr', async () => {
    const r = await runPythonTests('x = [1]\nprint(x[5])', [stdin('', '1')]);
    expect(r.results[0]?.status).toBe('runtime-error');
    expect(r.results[0]?.stderr).toMatch(/IndexError/);
  });
});

describe('runPythonTests: containment', () => {
  it('sees processes the way the checks below do: a host process by its token, a sandbox by its uid', async () => {
    const t = token();
    const host = spawn('sh', ['-c', `sleep 1000; : ${t}`], { stdio: 'ignore' });
    try {
      expect(await eventually(() => processesWith(t).length >= 1)).toBe(true);
    } finally {
      host.kill('SIGKILL');
    }
    if (process.getuid?.() !== 0) return;
    const r = await runPythonTests('import os, sys\nprint(os.getuid(), file=sys.stderr)', [stdin('', 'never')]);
    const uid = Number(r.results[0]?.stderr.trim());
    const pool = defaultSandboxPool();
    expect(uid).toBeGreaterThanOrEqual(pool.firstUid);
    expect(uid).toBeLessThan(pool.firstUid + pool.size);
  });

  it('an infinite loop times out and its whole process tree is gone afterwards', async () => {
    const t = token();
    const program = `import subprocess, sys\nsubprocess.Popen(['sh', '-c', 'sleep 1000; : ${t}'])\nprint('spawned', file=sys.stderr, flush=True)\nwhile True:\n    pass`;
    const r = await runPythonTests(program, [stdin('', '')], fast);
    expect(r.results[0]?.status).toBe('timeout');
    // The child was there before the kill, so "none left" is not vacuous.
    expect(r.results[0]?.stderr).toContain('spawned');
    expect(await eventually(() => processesWith(t).length === 0 && sandboxProcesses().length === 0)).toBe(true);
    expect(processesWith(t)).toEqual([]);
    expect(sandboxProcesses()).toEqual([]);
  });

  it('a fork bomb is contained, fails, and leaves nothing behind', async () => {
    const t = token();
    const program = [
      'import os, sys, time',
      `marker = '${t}'`,
      "print('forking', file=sys.stderr, flush=True)",
      'while True:',
      '    try:',
      '        os.fork()',
      '    except OSError:',
      '        time.sleep(0.01)',
    ].join('\n');
    const r = await runPythonTests(program, [stdin('', 'never')], fast);
    expect(r.passed).toBe(false);
    expect(['timeout', 'runtime-error']).toContain(r.results[0]?.status);
    expect(r.results[0]?.stderr).toContain('forking');
    expect(await eventually(() => sandboxProcesses().length === 0)).toBe(true);
    expect(sandboxProcesses()).toEqual([]);
    // The machine still runs sandboxes normally.
    const ok = await runPythonTests('print(42)', [stdin('', '42')]);
    expect(ok.passed).toBe(true);
  });

  it('limits processes: RLIMIT_NPROC binds inside the sandbox', async () => {
    const program = [
      'import os, time',
      'n = 0',
      'try:',
      '    for _ in range(200):',
      '        if os.fork() == 0:',
      '            time.sleep(5)',
      '            os._exit(0)',
      '        n += 1',
      'except OSError:',
      '    pass',
      'print(n)',
    ].join('\n');
    const r = await runPythonTests(program, [stdin('', '0')], { ...fast, maxProcesses: 16, harness: 'script' });
    expect(r.results[0]?.status).toBe('wrong-answer');
    const forked = Number(/: (\d+) != 0/.exec(r.results[0]?.message ?? '')?.[1]);
    expect(forked).toBeGreaterThan(0);
    expect(forked).toBeLessThan(16);
  });

  it('endless allocation hits the memory limit', async () => {
    const program = 'chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024 * 1024))';
    const r = await runPythonTests(program, [stdin('', '')], { ...fast, memoryLimitBytes: 256 * 1024 ** 2 });
    expect(r.results[0]?.status).toBe('memory-limit');
    const f = await runPythonTests(
      'class Solution:\n    def f(self, x):\n        return [0] * (10 ** 10)',
      [functional('1', '[]')],
      { ...fast, funcName: 'f', memoryLimitBytes: 256 * 1024 ** 2 },
    );
    expect(f.results[0]?.status).toBe('memory-limit');
  });

  it('cannot write outside its own tmpfs: the repo, the job dir and host /tmp stay untouched', async () => {
    const t = token();
    const inRepo = fileURLToPath(new URL(`../pwned-${t}`, import.meta.url));
    const inTmp = `/tmp/outside-${t}`;
    const program = [
      'import os, sys',
      `fd = os.open('${inTmp}', os.O_CREAT | os.O_WRONLY)  # lands in the sandbox's private tmpfs`,
      'os.write(fd, b"x"); os.close(fd)',
      "os.makedirs('/tmp/work/sub', exist_ok=True)  # the working directory is writable",
      'errors = []',
      `for path in ['${inRepo}', '/etc/pwned-${t}', '/tmp/.qb-job/solution.py', '/root/pwned-${t}']:`,
      '    try:',
      '        fd = os.open(path, os.O_CREAT | os.O_WRONLY)',
      '        os.write(fd, b"pwned"); os.close(fd)',
      '    except OSError as e:',
      '        errors.append(type(e).__name__)',
      'print(len(errors))',
      'if errors: raise PermissionError(errors)',
    ].join('\n');
    const r = await runPythonTests(program, [stdin('', '4')], { harness: 'script' });
    expect(r.results[0]?.status).toBe('runtime-error');
    expect(r.results[0]?.stderr).toMatch(/PermissionError|OSError/);
    expect(existsSync(inRepo)).toBe(false);
    expect(existsSync(inTmp)).toBe(false);
    expect(existsSync(`/etc/pwned-${t}`)).toBe(false);
    expect(existsSync(`/root/pwned-${t}`)).toBe(false);
  });

  it('has no network: connecting to the host (even localhost) fails', async () => {
    let connections = 0;
    const server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as { port: number }).port;
    try {
      const program = [
        'import socket',
        `for host, port in [('127.0.0.1', ${port}), ('1.1.1.1', 53), ('example.com', 80)]:`,
        '    try:',
        '        socket.create_connection((host, port), timeout=2).close()',
        '        print("connected", host)',
        '    except OSError as e:',
        '        print("blocked", host)',
      ].join('\n');
      const r = await runPythonTests(program, [stdin('', 'blocked 127.0.0.1\nblocked 1.1.1.1\nblocked example.com')]);
      expect(r.results[0]?.status).toBe('pass');
      expect(connections).toBe(0);
    } finally {
      server.close();
    }
  });

  it('huge output is cut off as output-limit (LCB harness and script harness)', async () => {
    const program = 'while True:\n    print("y" * 1000)';
    const opts = { ...fast, outputLimitBytes: 1024 * 1024 };
    const lcb = await runPythonTests(program, [stdin('', 'y')], opts);
    expect(lcb.results[0]?.status).toBe('output-limit');
    const script = await runPythonTests(program, [stdin('', 'y')], { ...opts, harness: 'script' });
    expect(script.results[0]?.status).toBe('output-limit');
  });

  it('runs unprivileged, without capabilities, seeing only its own processes and no host secrets', async () => {
    const program = [
      'import os',
      "status = open('/proc/self/status').read()",
      "cap = [l.split()[1] for l in status.splitlines() if l.startswith('CapEff')][0]",
      "pids = [p for p in os.listdir('/proc') if p.isdigit()]",
      "print(os.getuid() != 0 or os.geteuid() != 0, int(cap, 16), len(pids) < 5, os.listdir('/root') in ([], ['.pyenv']))",
      "print(sorted(k for k in os.environ if 'TOKEN' in k or 'KEY' in k or 'SECRET' in k))",
    ].join('\n');
    const r = await runPythonTests(program, [stdin('', 'True 0 True True\n[]')], { harness: 'script' });
    expect(r.results[0]).toMatchObject({ status: 'pass' });
  });

  it('runs tests concurrently through the pool and stays fast', async () => {
    const tests = Array.from({ length: 8 }, (_, i) => stdin(`${i}`, `${i * i}`));
    const r = await runPythonTests('x = int(input())\nprint(x * x)', tests);
    expect(r.passed).toBe(true);
    expect(r.results.map((t) => t.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
