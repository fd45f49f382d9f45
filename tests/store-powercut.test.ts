// Power cuts at the file-system level: whatever was not fsync'd is gone (or torn), directory
// entries not synced may or may not survive. After every cut the store must load a consistent
// state holding every ticket whose issue was acknowledged, and never issue a number twice.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { writeDurable } from '../device/store/fs.ts';
import { LossyFs } from './helpers/lossy-fs.ts';
import { openDurable } from './helpers/durable.ts';
import { Clock, testConfig } from './helpers/office.ts';

const DIR = '/data';

describe('power cuts under the store', () => {
  it('the lossy file system really loses unsynced writes (the model bites)', async () => {
    const fs = new LossyFs(() => 0);
    await fs.mkdirp('/d');
    const h = await fs.openAppend('/d/a');
    await h.write(Buffer.from('synced'));
    await h.datasync();
    await h.write(Buffer.from(' not synced'));
    // a rename without fsync of the data first: the new name can land with no data behind it
    const t = await fs.createExclusive('/d/b.tmp');
    await t.write(Buffer.from('{"x":1}'));
    await fs.rename('/d/b.tmp', '/d/b');
    await fs.syncDir('/d');
    fs.crash();
    expect((await fs.readFile('/d/a'))!.toString()).toBe('synced');
    expect((await fs.readFile('/d/b'))!.toString()).toBe('');
    // and writeDurable does not have that problem
    await writeDurable(fs, '/d/c', Buffer.from('{"x":2}'));
    fs.crash();
    expect((await fs.readFile('/d/c'))!.toString()).toBe('{"x":2}');
    // even when every unsynced directory change is lost
    const pessimist = new LossyFs(() => 0.99);
    await pessimist.mkdirp('/d');
    await writeDurable(pessimist, '/d/c', Buffer.from('{"x":3}'));
    pessimist.crash();
    expect((await pessimist.readFile('/d/c'))?.toString()).toBe('{"x":3}');
  });

  it('a record written in place over the zeros of a preallocated segment and not synced is lost or torn', async () => {
    const fs = new LossyFs(() => 0.5, { preallocate: true });
    await fs.mkdirp('/d');
    const { file } = await fs.openPreallocated!('/d/seg', 64);
    await fs.syncDir('/d');
    await file.writeAt(Buffer.from('synced\n'), 0);
    await file.datasync();
    await file.writeAt(Buffer.from('not synced\n'), 7);
    fs.crash();
    const after = (await fs.readFile('/d/seg'))!;
    expect(after.length).toBe(64);
    expect(after.subarray(0, 7).toString()).toBe('synced\n');
    // half of the unsynced record reached the card, the rest is still zeros
    expect(after.subarray(7, 13).toString()).toBe('not sy');
    expect(after.subarray(13).every((b) => b === 0)).toBe(true);
  });

  it.each([
    ['appended', false],
    ['written in place over preallocated segments, as on a Pi', true],
  ])(
    'keeps every acknowledged ticket and never reuses a number, over many cuts (journal %s)',
    async (_, preallocate) => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 2 ** 31 }),
          fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 8, maxLength: 15 }),
          async (seed, bursts) => {
            let s = seed;
            const rand = () => {
              s = (s * 1103515245 + 12345) % 2 ** 31;
              return s / 2 ** 31;
            };
            const fs = new LossyFs(rand, { preallocate });
            const config = testConfig();
            const clock = new Clock();
            const acknowledged = new Map<string, number>(); // number -> seq
            const everIssued = new Set<string>();
            for (const burst of bursts) {
              const q = await openDurable({ config, dir: DIR, fs, clock, snapshotEvery: 10 });
              // every acknowledged ticket is in the recovered state, as issued
              for (const [number] of acknowledged)
                expect(q.engine.state.tickets[number], `ticket ${number} lost`).toBeDefined();
              if (!q.engine.state.open) await q.execute({ type: 'day.open' });
              // a burst of presses, some still in flight when the power goes
              const inflight: Array<Promise<unknown>> = [];
              for (let i = 0; i < burst; i++) {
                const service = ['resident', 'passport', 'seal'][i % 3]!;
                const r = q.engine.execute({ type: 'ticket.issue', service, channel: 'kiosk' });
                if (!r.ok) continue;
                const t = r.ticket!;
                const seq = r.events[0]!.seq;
                inflight.push(
                  q.store.append(r.events).then(
                    () => {
                      expect(everIssued.has(t.number), `number ${t.number} issued twice`).toBe(false);
                      everIssued.add(t.number);
                      acknowledged.set(t.number, seq);
                    },
                    () => undefined,
                  ),
                );
                if (rand() < 0.4) await Promise.race([inflight.at(-1), Promise.resolve()]);
              }
              // let a random part of the work reach the disk, then cut
              const steps = Math.floor(rand() * 6);
              for (let k = 0; k < steps; k++) await new Promise((r) => setImmediate(r));
              fs.crash();
              await Promise.allSettled(inflight);
              clock.minutes(1);
            }
            const q = await openDurable({ config, dir: DIR, fs, clock, snapshotEvery: 10 });
            for (const [number] of acknowledged) expect(q.engine.state.tickets[number]).toBeDefined();
            const seqs = Object.values(q.engine.state.tickets).map((t) => t.issuedSeq);
            expect(new Set(seqs).size).toBe(seqs.length);
          },
        ),
        { numRuns: 40 },
      );
    },
  );
});
