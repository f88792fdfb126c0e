// Plain-text tables for terminal output.

export type Cell = string | number | boolean | null | undefined | Date;

function show(value: Cell): string {
  if (value === null || value === undefined) return '-';
  if (value instanceof Date) return value.toISOString().replace('.000Z', 'Z');
  return String(value);
}

/** Writes the rows as aligned columns through `line` (the command's human output). */
export function printTable(rows: Record<string, Cell>[], line: (text: string) => void, columns?: string[]) {
  if (rows.length === 0) {
    line('  (none)');
    return;
  }
  const keys = columns ?? Object.keys(rows[0]!);
  const cells = rows.map((row) => keys.map((key) => show(row[key])));
  const widths = keys.map((key, i) => Math.max(key.length, ...cells.map((c) => c[i]!.length)));
  const format = (values: string[]) => `  ${values.map((v, i) => v.padEnd(widths[i]!)).join('  ')}`.trimEnd();
  line(format(keys));
  line(format(widths.map((w) => '-'.repeat(w))));
  for (const c of cells) line(format(c));
}
