/**
 * The program in a code answer: the last complete fenced block whose language is Python or unnamed
 * (```python / ```py / ```python3 / ```), else the last complete fenced block of any language, else an unclosed
 * final ```python block. Running it is the sandbox's job.
 *
 * `extractCodeLcb` is LiveCodeBench's own rule (lcb_runner/utils/extraction_utils.py `extract_code`, generic
 * styles): the lines between the last two lines that contain ``` — kept for parity checks.
 */

export interface CodeExtraction {
  readonly code: string;
  /** The fence's info string (`python`, `` for a bare fence). */
  readonly language: string;
  readonly method: 'fenced' | 'fenced-other-language' | 'unclosed';
}

interface Block {
  readonly language: string;
  readonly code: string;
  readonly closed: boolean;
}

const PYTHON = new Set(['python', 'py', 'python3', '']);

function fencedBlocks(text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  let open: { fence: string; language: string; start: number } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (open === null) {
      const m = /^\s*(`{3,}|~{3,})\s*([\w+#.-]*)\s*$/.exec(line);
      if (m !== null) open = { fence: m[1]!, language: m[2]!.toLowerCase(), start: i + 1 };
    } else {
      const m = /^\s*(`{3,}|~{3,})\s*$/.exec(line);
      if (m !== null && m[1]![0] === open.fence[0] && m[1]!.length >= open.fence.length) {
        blocks.push({ language: open.language, code: lines.slice(open.start, i).join('\n'), closed: true });
        open = null;
      }
    }
  }
  if (open !== null) blocks.push({ language: open.language, code: lines.slice(open.start).join('\n'), closed: false });
  return blocks;
}

export function extractCode(answerText: string): CodeExtraction | null {
  const blocks = fencedBlocks(answerText);
  const closed = blocks.filter((b) => b.closed && b.code.trim() !== '');
  const python = closed.filter((b) => PYTHON.has(b.language));
  const lastPython = python.at(-1);
  if (lastPython !== undefined) return { code: lastPython.code, language: lastPython.language, method: 'fenced' };
  const lastAny = closed.at(-1);
  if (lastAny !== undefined) return { code: lastAny.code, language: lastAny.language, method: 'fenced-other-language' };
  const unclosed = blocks.at(-1);
  if (unclosed !== undefined && !unclosed.closed && PYTHON.has(unclosed.language) && unclosed.code.trim() !== '') {
    return { code: unclosed.code, language: unclosed.language, method: 'unclosed' };
  }
  return null;
}

/** LiveCodeBench's `extract_code`: the lines between the last two lines containing ```, or '' with fewer than two. */
export function extractCodeLcb(modelOutput: string): string {
  const lines = modelOutput.split('\n');
  const idx = lines.flatMap((l, i) => (l.includes('```') ? [i] : []));
  if (idx.length < 2) return '';
  return lines.slice(idx[idx.length - 2]! + 1, idx[idx.length - 1]!).join('\n');
}
