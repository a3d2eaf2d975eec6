import { createHash } from 'node:crypto';
import { createRng } from '@quantbench/core';
import { describe, expect, it } from 'vitest';
import {
  CHOICE_INSTRUCTION,
  LCB_FORMATTING_WITHOUT_STARTER_CODE,
  LCB_SYSTEM_MESSAGE,
  MATH_INSTRUCTION,
  NON_THINKING_SAMPLING,
  PROMPT_VERSION,
  THINKING_SAMPLING,
  buildPrompt,
  choiceSeed,
  defaultMaxNewTokens,
  lcbUserMessage,
  originalIndexOf,
  promptHashOf,
  seededPermutation,
  shuffleChoices,
  toGenerateRequest,
  type ChoicePromptRecord,
} from '../src/index.js';
import type { ChoiceProblem, CodeProblem, MathProblem } from '../src/types.js';

const gsm: MathProblem = {
  kind: 'math',
  id: 'gsm8k-test-0',
  question: 'Janet has 3 apples and buys 4 more. How many apples does she have?',
  answer: '7',
};
const aime: MathProblem = { kind: 'math', id: 'aime25-1', question: 'Find the remainder when $2^{10}$ is divided by 1000.', answer: '24' };
const gpqa: ChoiceProblem = {
  kind: 'choice',
  id: 'gpqa-1',
  question: 'What is 2+2?',
  correct: '4',
  incorrect: ['3', '5', '22'],
};
const lcbFunctional: CodeProblem = {
  kind: 'code',
  id: 'lcb-1',
  title: 'two-sum',
  question: 'Return indices of two numbers adding up to target.',
  starterCode: 'class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n        ',
  funcName: 'twoSum',
  publicTests: [{ input: '[2,7,11,15]\n9', output: '[0, 1]', testtype: 'functional' }],
  privateTests: [],
  platform: 'leetcode',
  difficulty: 'easy',
  contestDate: '2024-08-01',
};
const lcbStdin: CodeProblem = {
  ...lcbFunctional,
  id: 'lcb-2',
  question: 'Read N and print N*2.',
  starterCode: '',
  publicTests: [{ input: '3\n', output: '6\n', testtype: 'stdin' }],
  platform: 'atcoder',
};
delete (lcbStdin as { funcName?: string }).funcName;

describe('math prompts', () => {
  it('puts Qwen\'s boxed instruction after the question', () => {
    expect(MATH_INSTRUCTION).toBe('Please reason step by step, and put your final answer within \\boxed{}.');
    const r = buildPrompt('gsm8k', gsm, { thinking: 'on' });
    expect(r.messages).toEqual([
      {
        role: 'user',
        content:
          'Janet has 3 apples and buys 4 more. How many apples does she have?\nPlease reason step by step, and put your final answer within \\boxed{}.',
      },
    ]);
    expect(r.kind).toBe('math');
    expect(r.promptVersion).toBe(PROMPT_VERSION);
  });
});

describe('thinking modes, sampling and lengths', () => {
  it('uses the model card presets', () => {
    expect(THINKING_SAMPLING).toEqual({ temperature: 0.6, topP: 0.95, topK: 20, minP: 0, presencePenalty: 0 });
    expect(NON_THINKING_SAMPLING).toEqual({ temperature: 0.7, topP: 0.8, topK: 20, minP: 0, presencePenalty: 0 });
    expect(buildPrompt('gsm8k', gsm, { thinking: 'on' }).sampling).toEqual(THINKING_SAMPLING);
    expect(buildPrompt('gsm8k', gsm, { thinking: 'off' }).sampling).toEqual(NON_THINKING_SAMPLING);
  });

  it('defaults max new tokens per task and mode, and takes overrides', () => {
    expect(defaultMaxNewTokens('gsm8k', 'on')).toBe(32768);
    expect(defaultMaxNewTokens('gpqa-diamond', 'on')).toBe(32768);
    expect(defaultMaxNewTokens('aime24', 'on')).toBe(38912);
    expect(defaultMaxNewTokens('aime25', 'on')).toBe(38912);
    expect(defaultMaxNewTokens('livecodebench', 'on')).toBe(38912);
    expect(defaultMaxNewTokens('aime25', 'off')).toBe(16384);
    expect(defaultMaxNewTokens('gsm8k', 'off')).toBe(16384);
    expect(buildPrompt('aime25', aime, { thinking: 'on' }).maxNewTokens).toBe(38912);
    expect(buildPrompt('aime25', aime, { thinking: 'on', maxNewTokens: 81920 }).maxNewTokens).toBe(81920);
    expect(() => buildPrompt('aime25', aime, { thinking: 'on', maxNewTokens: 0 })).toThrow(RangeError);
  });

  it('merges sampling overrides into the preset', () => {
    const r = buildPrompt('gsm8k', gsm, { thinking: 'on', sampling: { presencePenalty: 1.5 } });
    expect(r.sampling).toEqual({ ...THINKING_SAMPLING, presencePenalty: 1.5 });
  });

  it('appends soft switches to the last user message only when asked', () => {
    expect(buildPrompt('gsm8k', gsm, { thinking: 'on', softSwitch: true }).messages[0]!.content.endsWith('\\boxed{}. /think')).toBe(true);
    expect(buildPrompt('gsm8k', gsm, { thinking: 'off', softSwitch: true }).messages[0]!.content.endsWith('\\boxed{}. /no_think')).toBe(true);
    const lcb = buildPrompt('livecodebench', lcbStdin, { thinking: 'off', softSwitch: true });
    expect(lcb.messages[0]!.content).toBe(LCB_SYSTEM_MESSAGE);
    expect(lcb.messages[1]!.content.endsWith('(use the provided format with backticks)\n\n /no_think')).toBe(true);
    expect(buildPrompt('gsm8k', gsm, { thinking: 'off' }).messages[0]!.content.includes('/no_think')).toBe(false);
  });

  it('maps thinking to the request\'s enable_thinking', () => {
    const r = buildPrompt('gsm8k', gsm, { thinking: 'off' });
    expect(toGenerateRequest(r, 7)).toEqual({
      messages: r.messages,
      thinking: false,
      sampling: NON_THINKING_SAMPLING,
      maxNewTokens: 16384,
      seed: 7,
    });
    expect(toGenerateRequest(buildPrompt('gsm8k', gsm, { thinking: 'on' }), 1).thinking).toBe(true);
  });
});

describe('prompt hash', () => {
  it('is stable, covers every setting, and is recomputable from the record', () => {
    const a = buildPrompt('gsm8k', gsm, { thinking: 'on' });
    const b = buildPrompt('gsm8k', gsm, { thinking: 'on' });
    expect(a.promptHash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.promptHash).toBe(b.promptHash);
    expect(promptHashOf(a)).toBe(a.promptHash);
    const variants = [
      buildPrompt('gsm8k', gsm, { thinking: 'off' }),
      buildPrompt('gsm8k', gsm, { thinking: 'on', softSwitch: true }),
      buildPrompt('gsm8k', gsm, { thinking: 'on', maxNewTokens: 1000 }),
      buildPrompt('gsm8k', gsm, { thinking: 'on', sampling: { temperature: 0.5 } }),
      buildPrompt('gsm8k', { ...gsm, question: `${gsm.question} ` + 'x' }, { thinking: 'on' }),
      buildPrompt('gsm8k', { ...gsm, id: 'other' }, { thinking: 'on' }),
    ];
    const hashes = new Set([a.promptHash, ...variants.map((v) => v.promptHash)]);
    expect(hashes.size).toBe(variants.length + 1);
    // Survives a JSON round trip (how the runner stores records).
    expect(promptHashOf(JSON.parse(JSON.stringify(a)))).toBe(a.promptHash);
  });
});

describe('choice shuffling', () => {
  it('derives the seed from sha256 of the question (first 4 bytes, big-endian)', () => {
    const digest = createHash('sha256').update('What is 2+2?').digest();
    expect(choiceSeed('What is 2+2?')).toBe(digest.readUInt32BE(0));
    expect(choiceSeed('What is 2+2?', 'salt')).toBe(createHash('sha256').update('saltWhat is 2+2?').digest().readUInt32BE(0));
  });

  it('is a Fisher–Yates shuffle driven by core\'s xoshiro128**', () => {
    const seed = 12345;
    const rng = createRng(seed);
    const p = [0, 1, 2, 3];
    for (let i = 3; i > 0; i--) {
      const j = Math.floor(rng.nextFloat() * (i + 1));
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    expect(seededPermutation(4, seed)).toEqual(p);
  });

  it('is reproducible and pinned for a known question', () => {
    const s = shuffleChoices(gpqa);
    expect(s).toEqual(shuffleChoices(gpqa));
    // Pinned: a change of hash, RNG or shuffle changes every GPQA prompt and must be deliberate.
    expect(s.seed).toBe(1389063006);
    expect(s.permutation).toEqual([2, 1, 3, 0]);
    expect(s.choices).toEqual(['5', '3', '22', '4']);
    expect(s.correctLetter).toBe('D');
    expect(originalIndexOf('D', s)).toBe(0);
    expect(originalIndexOf('A', s)).toBe(2);
  });

  it('spreads the correct answer over all four letters', () => {
    const counts: Record<string, number> = { A: 0, B: 0, C: 0, D: 0 };
    for (let i = 0; i < 400; i++) {
      const s = shuffleChoices({ ...gpqa, question: `Question number ${i}?` });
      expect([...s.permutation].sort()).toEqual([0, 1, 2, 3]);
      expect(s.choices[['A', 'B', 'C', 'D'].indexOf(s.correctLetter)]).toBe('4');
      counts[s.correctLetter]!++;
    }
    for (const n of Object.values(counts)) expect(n).toBeGreaterThan(60);
  });

  it('renders the question, lettered choices and Qwen\'s answer-field instruction, and records the permutation', () => {
    expect(CHOICE_INSTRUCTION).toBe('Please show your choice in the `answer` field with only the choice letter, e.g., `"answer": "C"`.');
    const r = buildPrompt('gpqa-diamond', { ...gpqa, correct: ' 4\n', question: 'What is 2+2?' }, { thinking: 'on' }) as ChoicePromptRecord;
    expect(r.messages).toEqual([
      {
        role: 'user',
        content:
          'What is 2+2?\n\nA) 5\nB) 3\nC) 22\nD) 4\n\nPlease show your choice in the `answer` field with only the choice letter, e.g., `"answer": "C"`.',
      },
    ]);
    expect(r.choice).toEqual({ seed: 1389063006, salt: '', permutation: [2, 1, 3, 0], correctLetter: 'D' });
    const salted = buildPrompt('gpqa-diamond', gpqa, { thinking: 'on', shuffleSalt: 'rep2' }) as ChoicePromptRecord;
    expect(salted.choice.seed).not.toBe(r.choice.seed);
    expect(salted.promptHash).not.toBe(r.promptHash);
  });
});

describe('LiveCodeBench prompts', () => {
  it('uses the starter-code format for functional problems', () => {
    expect(lcbUserMessage('Q?', 'class Solution:\n    pass')).toBe(
      '### Question:\nQ?\n\n### Format: You will use the following starter code to write the solution to the problem and enclose your code within delimiters.\n```python\nclass Solution:\n    pass\n```\n\n### Answer: (use the provided format with backticks)\n\n',
    );
    const r = buildPrompt('livecodebench', lcbFunctional, { thinking: 'on' });
    expect(r.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(r.messages[0]!.content).toBe(
      'You are an expert Python programmer. You will be given a question (problem specification) and will generate a correct Python program that matches the specification and passes all tests.',
    );
    expect(r.kind === 'code' && r.code).toEqual({ style: 'system', testtype: 'functional', funcName: 'twoSum' });
  });

  it('uses the stdin format without starter code', () => {
    expect(LCB_FORMATTING_WITHOUT_STARTER_CODE).toBe(
      'Read the inputs from stdin solve the problem and write the answer to stdout (do not directly test on the sample inputs). Enclose your code within delimiters as follows. Ensure that when the python program runs, it reads the inputs, runs the algorithm and writes output to STDOUT.',
    );
    const r = buildPrompt('livecodebench', lcbStdin, { thinking: 'off' });
    expect(r.messages[1]!.content).toBe(
      `### Question:\nRead N and print N*2.\n\n### Format: ${LCB_FORMATTING_WITHOUT_STARTER_CODE}\n\`\`\`python\n# YOUR CODE HERE\n\`\`\`\n\n### Answer: (use the provided format with backticks)\n\n`,
    );
    expect(r.kind === 'code' && r.code).toEqual({ style: 'system', testtype: 'stdin' });
  });

  it('can fold the system message into the user turn (LMStyle.OpenAIReason)', () => {
    const r = buildPrompt('livecodebench', lcbStdin, { thinking: 'on', lcbStyle: 'single-user' });
    expect(r.messages).toHaveLength(1);
    expect(r.messages[0]!.content.startsWith(`${LCB_SYSTEM_MESSAGE}\n\n### Question:\n`)).toBe(true);
  });
});

it('refuses a problem of the wrong kind for the task', () => {
  expect(() => buildPrompt('gsm8k', gpqa, { thinking: 'on' })).toThrow(/expects math/);
  expect(() => buildPrompt('livecodebench', gsm, { thinking: 'on' })).toThrow(/expects code/);
});
