// Watches the simulator's output files under <dataDir>/sim (board.png, counter-<id>.png,
// tickets/*.png, audio/*.wav)
// by polling: a few stats four times a second cost nothing, and unlike fs.watch it sees files
// written by a core that was restarted, into directories that did not exist yet.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { SimFiles } from './hub.ts';

export const TICKET_FILE = /^[A-Za-z0-9_-]+\.png$/;
export const AUDIO_FILE = /^\d+\.wav$/;
export const COUNTER_FILE = /^counter-([A-Za-z0-9_-]+)\.png$/;
const KEEP_TICKETS = 30;

export function watchSimFiles(simDir: string, onChange: (f: SimFiles) => void, intervalMs = 250): () => void {
  let last: SimFiles | null = null;
  let seenTickets = new Set<string>();
  let busy = false;

  const scan = async (): Promise<void> => {
    const board = await stat(path.join(simDir, 'board.png')).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    const ticketDir = path.join(simDir, 'tickets');
    const ticketNames = (await readdir(ticketDir).catch(() => [] as string[])).filter((n) => TICKET_FILE.test(n));
    let tickets = last?.tickets ?? [];
    const fresh = ticketNames.filter((n) => !seenTickets.has(n));
    if (fresh.length > 0 || ticketNames.length !== seenTickets.size) {
      // Newest first by write time: names sort by number, not by when a ticket was printed.
      const timed = await Promise.all(
        fresh.map(async (n) => ({
          n,
          t: await stat(path.join(ticketDir, n)).then(
            (s) => s.mtimeMs,
            () => 0,
          ),
        })),
      );
      timed.sort((a, b) => b.t - a.t || b.n.localeCompare(a.n));
      const names = new Set(ticketNames);
      tickets = [...timed.map((x) => x.n), ...tickets.filter((n) => names.has(n))].slice(0, KEEP_TICKETS);
      seenTickets = names;
    }
    const audioNames = (await readdir(path.join(simDir, 'audio')).catch(() => [] as string[])).filter((n) =>
      AUDIO_FILE.test(n),
    );
    const audio = audioNames.sort().at(-1) ?? null;
    const counters: Record<string, number> = {};
    for (const name of await readdir(simDir).catch(() => [] as string[])) {
      const m = COUNTER_FILE.exec(name);
      if (m)
        counters[m[1]!] = await stat(path.join(simDir, name)).then(
          (st) => st.mtimeMs,
          () => 0,
        );
    }
    const next: SimFiles = { board, tickets, audio, counters };
    if (
      !last ||
      last.board !== board ||
      last.audio !== audio ||
      last.tickets.join() !== tickets.join() ||
      JSON.stringify(last.counters) !== JSON.stringify(counters)
    ) {
      last = next;
      onChange(next);
    }
  };

  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    scan()
      .catch(() => {})
      .finally(() => {
        busy = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
