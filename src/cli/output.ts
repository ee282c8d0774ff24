/**
 * What a command prints: human lines on stdout, or one JSON document with `--json`; and a
 * progress indicator on long steps (scrypt, scans) drawn on stderr only when stdout is a
 * terminal, so scripts and pipes see nothing but the result.
 */

/** Options every command accepts. */
export interface GlobalOptions {
  json?: boolean;
  debug?: boolean;
}

/** Prints `value` as JSON with --json, else the human `lines`. */
export function emit(options: GlobalOptions, value: unknown, lines: string[] | string): void {
  if (options.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else process.stdout.write(`${Array.isArray(lines) ? lines.join('\n') : lines}\n`);
}

const FRAMES = ['|', '/', '-', '\\'];

/**
 * Runs `work` under a spinner labelled `label` when stdout is a TTY (and not --json); plain
 * (silent) otherwise.
 */
export async function withProgress<T>(options: GlobalOptions, label: string, work: () => Promise<T>): Promise<T> {
  if (!process.stdout.isTTY || options.json) return work();
  let i = 0;
  const draw = (): void => void process.stderr.write(`\r${FRAMES[i++ % FRAMES.length]} ${label}`);
  draw();
  const timer = setInterval(draw, 120);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    process.stderr.write(`\r${' '.repeat(label.length + 2)}\r`);
  }
}
