/**
 * The bench run as text, from its rows alone (so a results.json can be printed again later): a llama-bench style
 * speed table (engine | format | mode | test | t/s ± spread | memory), then kernel microbenchmarks, accuracy and
 * the thinking-mode comparison.
 */
import type { ResultRow } from '@quantbench/core';

/** A markdown table, columns padded to their widest cell, the `rightAligned` ones (by index) right-aligned. */
export function markdownTable(header: readonly string[], body: readonly string[][], rightAligned: ReadonlySet<number> = new Set()): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (rightAligned.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

function plusMinus(row: ResultRow): string {
  const spread = row.ciLow !== null && row.ciHigh !== null ? Math.abs(row.ciHigh - row.ciLow) / 2 : undefined;
  const digits = row.value >= 100 ? 1 : 2;
  return spread === undefined ? row.value.toFixed(digits) : `${row.value.toFixed(digits)} ± ${spread.toFixed(digits)}`;
}

export function formatBenchTables(rows: readonly ResultRow[], unavailable: readonly { name: string; reason: string }[] = []): string {
  const sections: string[] = [];
  const engines = [...new Set(rows.map((row) => row.engine))];

  // Speed, llama-bench style.
  const speed: string[][] = [];
  for (const engine of engines) {
    for (const kernel of ['bf16', 'w8a16', 'w8a8']) {
      const cell = rows.filter((row) => row.engine === engine && row.kernel === kernel);
      const peak = cell.find((row) => row.metric === 'peak_bytes');
      const memory = peak ? mib(peak.value) : '';
      for (const row of cell.filter((r) => r.metric.endsWith('_tokens_per_s'))) {
        const scenario = row.task.split('/').at(-1)!;
        const test = scenario.startsWith('prefill-') ? `pp${scenario.slice('prefill-'.length)}` : `tg ${scenario.slice('decode-'.length)}`;
        speed.push([engine, row.format, kernel, test, plusMinus(row), memory]);
      }
      for (const metric of ['ttft_ms', 'tpot_ms']) {
        const row = cell.find((r) => r.metric === metric && r.thinking === 'off');
        if (row) speed.push([engine, row.format, kernel, metric === 'ttft_ms' ? 'ttft' : 'tpot', `${row.value.toFixed(1)} ms`, memory]);
      }
    }
  }
  if (speed.length > 0) {
    const devices = engines.map((engine) => `${engine}: ${rows.find((row) => row.engine === engine)!.device}`);
    sections.push(`${devices.join('\n')}\n\n${markdownTable(['engine', 'format', 'mode', 'test', 't/s (median ± half interval)', 'peak memory'], speed, new Set([4, 5]))}`);
  }

  // Kernel microbenchmarks.
  const kernels: string[][] = [];
  for (const row of rows.filter((r) => r.task.startsWith('kernel/') && r.metric === 'median_ms')) {
    const same = (metric: string): ResultRow | undefined => rows.find((r) => r.engine === row.engine && r.task === row.task && r.kernel === row.kernel && r.metric === metric);
    const ceiling = same('ceiling_gb_per_s');
    const gbps = same('gb_per_s') ?? ceiling;
    const flops = same('flop_per_s');
    const fraction = same('fraction_of_ceiling');
    kernels.push([
      row.engine,
      row.task.slice('kernel/'.length),
      plusMinus({ ...row, value: row.value }).replace(/$/, ' ms'),
      gbps ? gbps.value.toFixed(2) : '',
      flops ? (flops.value / 1e9).toFixed(2) : '',
      ceiling ? 'ceiling' : fraction ? `${(100 * fraction.value).toFixed(1)}%` : '',
    ]);
  }
  if (kernels.length > 0) sections.push(`kernel microbenchmarks (decode shapes; ceiling = copy bandwidth in this run)\n\n${markdownTable(['engine', 'kernel', 'median', 'GB/s', 'GFLOP/s', 'of ceiling'], kernels, new Set([2, 3, 4, 5]))}`);

  // Accuracy.
  const accuracy: string[][] = [];
  for (const row of rows.filter((r) => r.metric === 'kl_divergence_mean')) {
    const same = (metric: string): ResultRow | undefined => rows.find((r) => r.engine === row.engine && r.task === row.task && r.kernel === row.kernel && r.metric === metric);
    const top1 = same('top1_agreement');
    const p99 = same('kl_divergence_p99');
    const dp = same('delta_p_rms');
    const [comparison, ...rest] = row.task.split('/');
    accuracy.push([
      row.engine,
      row.kernel,
      comparison === 'parity-vs-cpu' ? `cpu ${row.kernel}` : `${row.engine} bf16`,
      rest.join('/'),
      String(row.n),
      row.value.toExponential(3),
      p99 ? p99.value.toExponential(3) : '',
      top1 ? `${(100 * top1.value).toFixed(2)}%` : '',
      dp ? dp.value.toExponential(2) : '',
    ]);
  }
  if (accuracy.length > 0) sections.push(`accuracy at the logit level (fixed prompts)\n\n${markdownTable(['engine', 'mode', 'against', 'prompts', 'positions', 'mean KL', 'p99 KL', 'top-1', 'RMS Δp'], accuracy, new Set([4, 5, 6, 7, 8]))}`);

  // Thinking on / off.
  const thinking: string[][] = [];
  for (const row of rows.filter((r) => r.task.startsWith('thinking/') && r.metric === 'tokens_generated')) {
    const same = (metric: string): ResultRow | undefined => rows.find((r) => r.engine === row.engine && r.kernel === row.kernel && r.thinking === row.thinking && r.task === row.task && r.metric === metric);
    const answer = same('time_to_answer_ms');
    thinking.push([
      row.engine,
      row.kernel,
      row.thinking,
      row.value.toFixed(1),
      same('thinking_tokens')?.value.toFixed(1) ?? '',
      `${same('ttft_ms')?.value.toFixed(0) ?? ''} ms`,
      answer ? `${answer.value.toFixed(0)} ms` : 'not within budget',
      `${same('response_ms')?.value.toFixed(0) ?? ''} ms`,
    ]);
  }
  if (thinking.length > 0) sections.push(`thinking on / off (greedy, fixed prompts; synthetic weights: content meaningless, mechanics real)\n\n${markdownTable(['engine', 'mode', 'thinking', 'tokens', 'thinking tokens', 'ttft', 'time to answer', 'response'], thinking, new Set([3, 4, 5, 6, 7]))}`);

  if (unavailable.length > 0) sections.push(`not run here:\n${unavailable.map((u) => `  ${u.name}: ${u.reason}`).join('\n')}`);
  return sections.join('\n\n');
}
