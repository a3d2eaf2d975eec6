/**
 * Progress on stderr: on a TTY one line redrawn in place (bar, counts, running accuracy, tokens/s, ETA); elsewhere
 * (CI, a pipe, a file) plain lines, at most one every `intervalMs` plus one at the end of each cell.
 */

export interface ProgressSink {
  /** A new cell starts: `total` samples of which `done` were already finished (resumed). */
  startCell(label: string, total: number, done: number, correct: number): void;
  /** Samples finished in this cell since the last call (their count and how many were correct). */
  samples(finished: number, correct: number): void;
  /** Tokens generated (streamed), for the live tokens/s. */
  tokens(count: number): void;
  endCell(): void;
  /** A line of its own (warnings, loading messages), not overwritten by the bar. */
  note(message: string): void;
}

export interface ProgressOptions {
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Force line mode or bar mode; default: bar when the stream is a TTY and CI is unset. */
  readonly tty?: boolean;
  /** Line mode: least milliseconds between lines (default 10 s). */
  readonly intervalMs?: number;
  readonly now?: () => number;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '--';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function createProgress(options: ProgressOptions = {}): ProgressSink {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? (Boolean((stream as { isTTY?: boolean }).isTTY) && !process.env.CI);
  const intervalMs = options.intervalMs ?? 10_000;
  const now = options.now ?? (() => performance.now());
  let label = '';
  let total = 0;
  let done = 0;
  let correct = 0;
  let resumed = 0;
  let started = now();
  let tokens = 0;
  let lastLine = Number.NEGATIVE_INFINITY;
  let drawn = false;
  let lastText = '';

  const render = (): string => {
    const newDone = done - resumed;
    const elapsed = now() - started;
    const eta = newDone > 0 ? (elapsed / newDone) * (total - done) : Number.NaN;
    const accuracy = done > 0 ? `${((100 * correct) / done).toFixed(1)}%` : '--';
    const rate = elapsed > 0 ? ((tokens / elapsed) * 1000).toFixed(1) : '--';
    const counts = `${done}/${total}`;
    const tail = `acc ${accuracy}  ${rate} tok/s  ETA ${done >= total ? 'done' : formatDuration(eta)}`;
    if (!tty) return `${label}: ${counts} samples, ${tail}`;
    const width = 20;
    const filled = total > 0 ? Math.round((done / total) * width) : width;
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${counts}  ${tail}`;
  };
  const draw = (force = false): void => {
    if (tty) {
      const columns = (stream as { columns?: number }).columns ?? 120;
      stream.write(`\r\x1b[K${render().slice(0, columns - 1)}`);
      drawn = true;
    } else if (force || now() - lastLine >= intervalMs) {
      const line = render();
      if (line !== lastText) stream.write(`${line}\n`);
      lastText = line;
      lastLine = now();
    }
  };
  const clear = (): void => {
    if (tty && drawn) stream.write('\r\x1b[K');
    drawn = false;
  };

  return {
    startCell(nextLabel, nextTotal, nextDone, nextCorrect) {
      label = nextLabel;
      total = nextTotal;
      done = nextDone;
      resumed = nextDone;
      correct = nextCorrect;
      tokens = 0;
      started = now();
      lastLine = Number.NEGATIVE_INFINITY;
      draw(true);
    },
    samples(finished, nowCorrect) {
      done += finished;
      correct += nowCorrect;
      draw();
    },
    tokens(count) {
      tokens += count;
      // On a TTY redraw at most every 200 ms of tokens; line mode only prints on finished samples.
      if (tty && now() - lastLine >= 200) {
        lastLine = now();
        draw();
      }
    },
    endCell() {
      if (tty) {
        draw();
        stream.write('\n');
        drawn = false;
      } else {
        draw(true);
      }
    },
    note(message) {
      clear();
      stream.write(`${message}\n`);
      if (tty && label) draw();
    },
  };
}

/** A sink that prints nothing (tests, library use). */
export const silentProgress: ProgressSink = {
  startCell() {},
  samples() {},
  tokens() {},
  endCell() {},
  note() {},
};
