import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callParts } from '../display/audio/call-sentence.ts';
import { clipWords, missingClips } from '../display/audio/clip-pack.ts';
import { segmentWord } from '../display/audio/clip-voice.ts';
import { encodeWav, silence } from '../display/audio/wav.ts';

const office = {
  services: [{ numbers: { prefix: '', from: 1001, to: 1999 } }, { numbers: { prefix: 'A', from: 1, to: 999 } }],
  counters: [
    { id: '1', name: '1번 창구' },
    { id: '2', name: '민원실' },
    { id: '3', name: '창구 3' },
  ],
} as unknown as Parameters<typeof clipWords>[0];

describe('clip pack contents', () => {
  it('lists the number syllables, sentence words, prefix letters and counter words', () => {
    const words = clipWords(office);
    expect(words).toEqual(
      expect.arrayContaining(['일', '구', '십', '백', '천', '만', '번', '고객님', '오십시오', '에이']),
    );
    expect(words).toEqual(expect.arrayContaining(['창구로', '민원실로', '창구']));
    expect(words).not.toContain('일번'); // said as 일 + 번
    expect(new Set(words).size).toBe(words.length);
  });

  it('lets a pack of exactly those clips say every call of the office', () => {
    const words = new Set(clipWords(office));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 1001, max: 1999 }).map(String),
          fc.integer({ min: 1, max: 999 }).map((n) => `A${String(n).padStart(3, '0')}`),
        ),
        fc.constantFrom(...office.counters),
        (ticket, counter) => {
          for (const p of callParts(ticket, counter.id, counter.name)) {
            if (p.kind === 'word') expect(segmentWord(p.text, (w) => words.has(w))).not.toBeNull();
          }
        },
      ),
    );
  });

  describe('check against a directory', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'beonho-pack-'));
      for (const w of clipWords(office).filter((w) => w !== '민원실로' && w !== '칠')) {
        await writeFile(path.join(dir, `${w}.wav`), encodeWav(silence(16000, 10)));
      }
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('names the clips the pack lacks', async () => {
      expect((await missingClips(dir, office)).sort()).toEqual(['민원실로', '칠'].sort());
    });
  });
});
