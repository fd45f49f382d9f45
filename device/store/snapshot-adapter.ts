// A lowdb adapter for the state snapshot that survives power cuts (lowdb's own JSONFile writes
// through steno, which never fsyncs; lowdb's tracker has db.json files empty or full of NULs after a
// power cut, and an unparseable file makes db.read() throw).
//
// Each write is a new generation, snapshot-<seq>.json, written with writeDurable (unique temp,
// fsync, rename, fsync of the directory). The last KEEP generations stay, so a damaged newest file
// falls back to the one before it (the journal since that generation is kept too, see store.ts).
// File format: a one-line header with a CRC of the body, then the body:
//   {"format":"beonho-state","schema":1,"seq":1042,"crc":"8c1f00aa","bytes":52311}\n<state json>
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Adapter } from 'lowdb';
import type { QueueState } from '../queue/types.ts';
import { type StoreFs, writeDurable } from './fs.ts';

export const SNAPSHOT_FORMAT = 'beonho-state';
const NAME_RE = /^snapshot-(\d{12})\.json$/;
const KEEP = 3;

/** What read() returns: the state. What write() takes may instead carry the state already
 * serialised (`json`): the store serialises at the snapshot's seq, synchronously, so the live
 * state can move on while the write is in flight, without a deep copy. */
export type SnapshotDoc = { schema: number; seq: number } & ({ state: QueueState } | { json: string });

export class StateTooNewError extends Error {
  readonly code = 'state-too-new';
  constructor(file: string, found: number, supported: number) {
    super(
      `${file} was written by a newer beonho (state schema ${found}; this version reads up to ${supported}). ` +
        'Install that version again, or a newer one; nothing was changed on disk.',
    );
  }
}

export class SnapshotAdapter implements Adapter<SnapshotDoc | null> {
  /** generations that could not be read at the last read(), with the reason */
  readonly skipped: string[] = [];
  bytesWritten = 0;

  constructor(
    private readonly fs: StoreFs,
    private readonly dir: string,
    private readonly supportedSchema: number,
  ) {}

  async generations(): Promise<Array<{ file: string; seq: number }>> {
    return (await this.fs.list(this.dir))
      .map((n) => NAME_RE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ file: path.join(this.dir, m[0]), seq: Number(m[1]) }))
      .sort((a, b) => b.seq - a.seq);
  }

  async read(): Promise<SnapshotDoc | null> {
    this.skipped.length = 0;
    for (const gen of await this.generations()) {
      const buf = await this.fs.readFile(gen.file);
      const result = buf ? decode(buf) : { error: 'missing' };
      if ('doc' in result) {
        if (result.doc.schema > this.supportedSchema) {
          throw new StateTooNewError(gen.file, result.doc.schema, this.supportedSchema);
        }
        return result.doc;
      }
      this.skipped.push(`${path.basename(gen.file)}: ${result.error}`);
    }
    return null;
  }

  async write(doc: SnapshotDoc | null): Promise<void> {
    if (!doc) return;
    const body = Buffer.from('json' in doc ? doc.json : JSON.stringify(doc.state), 'utf8');
    const header = JSON.stringify({
      format: SNAPSHOT_FORMAT,
      schema: doc.schema,
      seq: doc.seq,
      crc: crc32(body).toString(16).padStart(8, '0'),
      bytes: body.length,
    });
    const data = Buffer.concat([Buffer.from(`${header}\n`, 'utf8'), body]);
    await writeDurable(this.fs, path.join(this.dir, `snapshot-${String(doc.seq).padStart(12, '0')}.json`), data);
    this.bytesWritten += data.length;
    for (const old of (await this.generations()).slice(KEEP)) await this.fs.unlink(old.file);
  }

  /** The seq of the oldest generation kept: the journal must reach back to it. */
  async oldestSeq(): Promise<number | null> {
    const gens = await this.generations();
    return gens.length > 0 ? gens[gens.length - 1]!.seq : null;
  }
}

function decode(buf: Buffer): { doc: SnapshotDoc } | { error: string } {
  const nl = buf.indexOf(0x0a);
  if (nl < 0) return { error: buf.length === 0 ? 'empty file' : 'no header line' };
  let header: { format?: unknown; schema?: unknown; seq?: unknown; crc?: unknown; bytes?: unknown };
  try {
    header = JSON.parse(buf.subarray(0, nl).toString('utf8'));
  } catch {
    return { error: 'header is not JSON' };
  }
  if (header.format !== SNAPSHOT_FORMAT || typeof header.schema !== 'number' || typeof header.seq !== 'number') {
    return { error: 'not a beonho state file' };
  }
  const body = buf.subarray(nl + 1);
  if (body.length !== header.bytes)
    return { error: `body is ${body.length} bytes, header says ${String(header.bytes)}` };
  if (crc32(body).toString(16).padStart(8, '0') !== header.crc) return { error: 'body fails its checksum' };
  try {
    const state = JSON.parse(body.toString('utf8')) as QueueState;
    return { doc: { schema: header.schema, seq: header.seq, state } };
  } catch {
    return { error: 'body is not JSON' };
  }
}
