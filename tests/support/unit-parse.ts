// A small reader of systemd unit files (INI with repeatable keys), so the tests can check the
// generated units on a machine without `systemd-analyze`. Continuation lines are not supported:
// the generator never writes them.
export type UnitFile = Map<string, Array<[key: string, value: string]>>;

export function parseUnitFile(text: string): UnitFile {
  const sections: UnitFile = new Map();
  let current: Array<[string, string]> | null = null;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const section = /^\[([A-Za-z]+)\]$/.exec(line);
    if (section) {
      if (sections.has(section[1]!)) throw new Error(`line ${i + 1}: section [${section[1]}] twice`);
      current = [];
      sections.set(section[1]!, current);
      return;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    if (!kv) throw new Error(`line ${i + 1}: not KEY=value: ${line}`);
    if (!current) throw new Error(`line ${i + 1}: ${kv[1]} outside a section`);
    (current as Array<[string, string]>).push([kv[1]!, kv[2]!]);
  });
  return sections;
}

/** The effective value of a key: the last one wins, as in systemd (for non-list settings). */
export function unitValue(unit: UnitFile, section: string, key: string): string | undefined {
  const entries = unit.get(section)?.filter(([k]) => k === key) ?? [];
  return entries.at(-1)?.[1];
}
