/** Order statistics for benchmark samples. */

/** Median, extremes and count of a sample. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** Summarises `xs` (NaN fields for an empty sample). */
export function summarize(xs: readonly number[]): Summary {
  if (xs.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 };
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

/** Median of `xs`. */
export function median(xs: readonly number[]): number {
  return summarize(xs).median;
}

/** Sum of `xs`. */
export function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** Milliseconds to whole microseconds. */
export function us(ms: number): number {
  return Math.round(ms * 1000);
}

/** Rounds to `digits` decimals (for JSON figures). */
export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
