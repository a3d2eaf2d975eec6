/**
 * A minimal static report site until apps/site exists: one index.html listing every run under reports/runs (newest
 * first) with its figures, read through the results schema. The workflow publishes it with reports/ beside it.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseResultsFile } from '@quantbench/core';

const escape = (text: string): string => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export async function writeReportIndex(reportsDir: string, outFile: string, linkPrefix = 'reports'): Promise<number> {
  const runsDir = join(reportsDir, 'runs');
  const runs = (await readdir(runsDir).catch(() => [] as string[])).sort().reverse();
  const sections: string[] = [];
  for (const run of runs) {
    let rows;
    try {
      rows = parseResultsFile(JSON.parse(await readFile(join(runsDir, run, 'results.json'), 'utf8')), run).rows;
    } catch {
      continue;
    }
    const body = rows
      .map((r) => `<tr><td>${escape(r.engine)}</td><td>${r.format}</td><td>${r.kernel}</td><td>${r.thinking}</td><td>${escape(r.task)}</td><td>${escape(r.metric)}</td><td>${r.value.toPrecision(5)}</td><td>${escape(r.unit)}</td><td>${r.n}</td></tr>`)
      .join('\n');
    const link = `${linkPrefix}/runs/${encodeURIComponent(run)}`;
    sections.push(
      `<details><summary>${escape(run)} — ${rows.length} rows (<a href="${link}/results.json">results.json</a>, <a href="${link}/results.csv">results.csv</a>, <a href="${link}/env.json">env.json</a>)</summary>\n<table><tr><th>engine</th><th>format</th><th>kernel</th><th>thinking</th><th>task</th><th>metric</th><th>value</th><th>unit</th><th>n</th></tr>\n${body}\n</table></details>`,
    );
  }
  const html = `<!doctype html><meta charset="utf-8"><title>quantbench reports</title>
<style>body{font:14px system-ui;margin:2em}table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}summary{cursor:pointer;margin:.3em 0}</style>
<h1>quantbench reports</h1><p>Every run under reports/runs, newest first (a minimal index until the report site exists). Baseline: <a href="${linkPrefix}/baseline/baseline.json">baseline.json</a>.</p>
${sections.join('\n')}\n`;
  await writeFile(outFile, html);
  return sections.length;
}
