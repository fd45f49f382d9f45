// Reading the docs' markdown tables, for the tests that hold the docs to the code.

/** Rows of the markdown table that follows `marker` in `doc`, as trimmed cells (header and rule dropped). */
export function tableAfter(doc: string, marker: string): string[][] {
  const start = doc.indexOf(marker);
  if (start < 0) throw new Error(`no "${marker}" in the document`);
  const rows: string[][] = [];
  for (const line of doc.slice(start).split('\n').slice(1)) {
    if (!line.startsWith('|')) {
      if (rows.length > 0) break;
      continue;
    }
    rows.push(
      line
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );
  }
  return rows.slice(2);
}

/** The `code` spans of a cell. */
export const ticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
