/**
 * Tables of the benchmark: plain text for the terminal, markdown for
 * docs/PERFORMANCE.md.
 *
 * @module
 */

/** A table: a header row and data rows, all strings. */
export interface Table {
  title: string;
  head: string[];
  rows: string[][];
}

/** Fixed-width text rendering. */
export function textTable(t: Table): string {
  const widths = t.head.map((h, i) =>
    Math.max(h.length, ...t.rows.map((r) => (r[i] ?? "").length))
  );
  const line = (r: string[]) =>
    r.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ");
  return [
    t.title,
    line(t.head),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...t.rows.map(line),
  ].join("\n");
}

/** Markdown rendering (first column left, the rest right-aligned). */
export function markdownTable(t: Table): string {
  const esc = (c: string) => c.replaceAll("|", "\\|");
  return [
    `**${t.title}**`,
    "",
    `| ${t.head.map(esc).join(" | ")} |`,
    `|${t.head.map((_, i) => i === 0 ? "---" : "---:").join("|")}|`,
    ...t.rows.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ].join("\n");
}

/** `12345.6` → `12,346`. */
export function int(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—";
}

/** Fixed decimals, or a dash. */
export function fix(n: number, d = 1): string {
  return Number.isFinite(n) ? n.toFixed(d) : "—";
}

/** Median of the finite values (NaN if none). */
export function median(xs: number[]): number {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Smallest and largest of the finite values (NaN, NaN if none). */
export function range(xs: number[]): [number, number] {
  const v = xs.filter(Number.isFinite);
  return v.length ? [Math.min(...v), Math.max(...v)] : [NaN, NaN];
}

/** `1.23× (1.10–1.31)`: the median ratio and its range over the rounds. */
export function ratioCell(xs: number[], d = 2): string {
  const [lo, hi] = range(xs);
  const m = median(xs);
  if (!Number.isFinite(m)) return "—";
  return xs.filter(Number.isFinite).length > 1
    ? `${fix(m, d)}× (${fix(lo, d)}–${fix(hi, d)})`
    : `${fix(m, d)}×`;
}
