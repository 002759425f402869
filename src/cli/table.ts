// Plain-text tables for terminal output.

/** Rows padded to column widths, two spaces apart; `rightAlign(col)` for numeric columns. */
export function table(rows: readonly (readonly string[])[], rightAlign: (col: number) => boolean): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (rightAlign(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd());
}
