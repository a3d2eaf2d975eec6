import type { z } from 'zod';

/** Walks `path` into `input` to show the value that failed; undefined if the path does not exist. */
function valueAt(input: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let current: unknown = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return { found: false, value: undefined };
    const record = current as Record<PropertyKey, unknown>;
    if (!Object.hasOwn(record, key)) return { found: false, value: undefined };
    current = record[key];
  }
  return { found: true, value: current };
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** `a.b[2].c` style path; `(root)` for the top level. */
export function formatPath(path: readonly PropertyKey[], prefix = ''): string {
  let text = prefix;
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else text += text === '' ? String(key) : `.${String(key)}`;
  }
  return text === '' ? '(root)' : text;
}

/**
 * One readable line per zod issue: `path: message (found <value>)`, or `path: missing` for absent fields.
 */
export function formatZodIssues(error: z.ZodError, input: unknown, prefix = ''): string[] {
  return error.issues.map((issue) => {
    const path = formatPath(issue.path, prefix);
    const at = valueAt(input, issue.path);
    if (!at.found && issue.code === 'invalid_type') return `${path}: missing (expected ${issue.expected})`;
    const found = at.found ? ` (found ${preview(at.value)})` : '';
    return `${path}: ${issue.message}${found}`;
  });
}
