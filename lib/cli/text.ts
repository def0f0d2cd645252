// Small text helpers shared by the commands' terminal output.

export function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** A number in a few significant digits, exponent form for the very small or large. */
export function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? x.toExponential(3) : Number(x.toPrecision(5)).toString();
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s - m * 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Colours on a terminal that wants them. */
export function painter(stream: NodeJS.WriteStream): { paint: (code: number, text: string) => string; bold: (t: string) => string; dim: (t: string) => string } {
  const color = stream.isTTY === true && !process.env.NO_COLOR;
  const paint = (code: number, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  return { paint, bold: (t) => paint(1, t), dim: (t) => paint(2, t) };
}
