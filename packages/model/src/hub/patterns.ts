/**
 * allowPatterns matching with huggingface_hub's semantics (Python `fnmatch` on the whole repo path): `*` matches any
 * run of characters including `/` (so `*.json` also matches `sub/x.json`), `?` one character, `[abc]` / `[!abc]` a
 * set; a pattern ending in `/` matches everything under that folder.
 */
export function compilePattern(pattern: string): RegExp {
  const p = pattern.endsWith('/') ? `${pattern}*` : pattern;
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = p.indexOf(']', i + 2);
      if (end === -1) {
        re += '\\[';
        continue;
      }
      let body = p.slice(i + 1, end).replace(/\\/g, '\\\\');
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      else if (body.startsWith('^')) body = `\\${body}`;
      re += `[${body}]`;
      i = end;
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/** A predicate for repo paths; no patterns means every path matches. */
export function pathFilter(patterns: readonly string[] | undefined): (path: string) => boolean {
  if (patterns === undefined) return () => true;
  const compiled = patterns.map(compilePattern);
  return (path) => compiled.some((re) => re.test(path));
}
