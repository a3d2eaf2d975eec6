/**
 * Prompt sets for logit comparisons: a text file with one prompt per line, or JSONL with a `text` field per
 * line. The default set ships in datasets/fixtures.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

const JsonlRow = z.object({ text: z.string().min(1) });

export async function readPromptFile(path: string): Promise<string[]> {
  const lines = (await readFile(path, 'utf8')).split('\n');
  const prompts: string[] = [];
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    if (!path.endsWith('.jsonl')) {
      prompts.push(line.replaceAll('\\n', '\n'));
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new Error(`${path}:${index + 1}: not valid JSON. Fix: one {"text": "..."} object per line`);
    }
    const row = JsonlRow.safeParse(json);
    if (!row.success) throw new Error(`${path}:${index + 1}: expected {"text": "<non-empty string>"}`);
    prompts.push(row.data.text);
  }
  if (prompts.length === 0) throw new Error(`${path}: no prompts in the file`);
  return prompts;
}
