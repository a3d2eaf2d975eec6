import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quantbench as run } from './run-cli.js';

const quantbench = (...args: string[]) => run(args);

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'qb-cli-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('pnpm quantbench', () => {
  it('lists its commands with --help', async () => {
    const run = await quantbench('--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/synth\s+write a seeded synthetic/);
    expect(run.stdout).toMatch(/prompt\s+render a chat prompt/);
  });

  it('rejects an unknown command with exit code 2 and the command list', async () => {
    const run = await quantbench('frobnicate');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown command 'frobnicate'");
    expect(run.stderr).toContain('synth');
  });

  it('names each bad argument and points at --help', async () => {
    const run = await quantbench('synth', '--preset', 'huge', '--seed=-1');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--preset: expected one of tiny, mid, qwen3-4b');
    expect(run.stderr).toContain('--out: required');
    expect(run.stderr).toContain('--seed');
    expect(run.stderr).toContain("Run 'pnpm quantbench synth --help'");
    const unknown = await quantbench('prompt', '--modle', 'x');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--modle'");
  });

  it('lock-dataset verifies a pinned manifest (the fixtures) and rejects an unknown task', async () => {
    const run = await quantbench('lock-dataset', '--task', 'gsm8k,gpqa-diamond', '--fixtures', '--dry-run');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^gsm8k: verified .*datasets\/fixtures\/gsm8k\.json/m);
    expect(run.stdout).toMatch(/^gpqa-diamond: verified /m);
    const bad = await quantbench('lock-dataset', '--task', 'mmlu');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--task: expected tasks among gsm8k');
  });

  it('synth writes bf16/ and fp8/, and prompt renders the chat template from them', async () => {
    const out = join(root, 'tiny');
    const synth = await quantbench('synth', '--preset', 'tiny', '--out', out, '--seed', '1');
    expect(synth.code, synth.stderr).toBe(0);
    expect(synth.stdout).toContain('preset tiny, seed 1');
    for (const format of ['bf16', 'fp8']) {
      expect(await readdir(join(out, format))).toEqual(
        expect.arrayContaining(['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']),
      );
    }

    const text = await quantbench('prompt', '--model', join(out, 'fp8'), '--thinking', 'off', '--user', 'What is 2+2?');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toBe('<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n');

    const json = await quantbench('prompt', '--model', join(out, 'bf16'), '--thinking', 'on', '--user', 'Hi', '--json');
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as { text: string; ids: number[] };
    expect(parsed.text).toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
    expect(parsed.ids[0]).toBe(151644);
    expect(parsed.ids.at(-1)).toBe(198); // '\n' after 'assistant'
  });

  it('reports a missing model directory as an error naming it', async () => {
    const run = await quantbench('prompt', '--model', join(root, 'nope'), '--thinking', 'on', '--user', 'x');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('nope');
  });

  describe('on the tiny checkpoint', () => {
    let model: string;
    beforeAll(async () => {
      model = join(root, 'engine-tiny');
      const synth = await quantbench('synth', '--preset', 'tiny', '--out', model, '--seed', '2');
      expect(synth.code, synth.stderr).toBe(0);
    });

    it('logits writes float32 [ids, vocab], the same bytes each run', async () => {
      const out = join(root, 'logits.f32');
      const run = await quantbench('logits', '--engine', 'cpu', '--model', join(model, 'fp8'), '--kernel', 'w8a8', '--ids', '151644,872,198,9707', '--out', out);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('[4, 151936]');
      const first = await readFile(out);
      expect(first.byteLength).toBe(4 * 151936 * 4);
      const values = new Float32Array(first.buffer, first.byteOffset, first.byteLength / 4);
      expect(values.every(Number.isFinite)).toBe(true);
      await quantbench('logits', '--engine', 'cpu', '--model', join(model, 'fp8'), '--kernel', 'w8a8', '--ids', '151644,872,198,9707', '--out', out);
      expect((await readFile(out)).equals(first)).toBe(true);
    });

    it('logits refuses a kernel that does not match the checkpoint', async () => {
      const run = await quantbench('logits', '--engine', 'cpu', '--model', join(model, 'bf16'), '--kernel', 'w8a16', '--ids', '1,2', '--out', join(root, 'x.f32'));
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("kernel mode 'w8a16' needs an FP8 checkpoint");
    });

    it('generate streams text and reports speed and memory', async () => {
      const run = await quantbench('generate', '--engine', 'cpu', '--model', join(model, 'bf16'), '--thinking', 'off', '--prompt', 'Hello', '--max-new', '6', '--greedy');
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/prefill [\d.]+ tokens\/s, time to first token \d+ ms/);
      expect(run.stderr).toMatch(/generated \d+ tokens, decode ([\d.]+|n\/a) tokens\/s/);
      expect(run.stderr).toMatch(/memory: peak [\d.]+ MiB/);
    });

    it('compare prints the KL statistics of FP8 against BF16', async () => {
      const prompts = join(root, 'prompts.txt');
      await writeFile(prompts, 'The capital of France is Paris.\nTwo plus two is four.\n');
      const run = await quantbench('compare', '--model-a', join(model, 'bf16'), '--engine-a', 'cpu', '--kernel-a', 'bf16', '--model-b', join(model, 'fp8'), '--engine-b', 'cpu', '--kernel-b', 'w8a16', '--prompts', prompts);
      expect(run.code, run.stderr).toBe(0);
      const kl = Number(/mean KL divergence\s+(\S+)/.exec(run.stdout)?.[1]);
      expect(kl).toBeGreaterThan(0);
      expect(run.stdout).toMatch(/same top token\s+[\d.]+% \[/);
      expect(run.stdout).toMatch(/positions\s+\d+/);
    });
  });
});
