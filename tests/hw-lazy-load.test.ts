// The simulator must run where no native module loads: building the input ports from the
// default (sim) config must not load onoff, node-hid, serialport, johnny-five or koffi (the ioctls). Checked in a
// fresh Node process, through the CommonJS module cache every one of them passes through; a
// positive control in the same process proves the check sees them when they do load.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const NATIVE =
  /[\\/]node_modules[\\/](onoff|epoll|node-hid|serialport|@serialport[\\/][^\\/]+|johnny-five|firmata|firmata-io|koffi|@koromix[\\/][^\\/]+)[\\/]/;

const script = `
import { createRequire } from 'node:module';
import { pino } from 'pino';
const req = createRequire(process.cwd() + '/');
const loaded = () => [...new Set(Object.keys(req.cache).map((p) => p.match(${NATIVE})?.[1]).filter(Boolean))].sort();
const { configSchema } = await import('./device/config/schema.ts');
const { createButtonSource, createKeypadSource } = await import('./device/hw/factory.ts');
const config = configSchema.parse({
  office: { id: 'sim', name: '시뮬레이터' },
  services: [{ id: 'resident', name: '주민등록', numbers: { from: 1001, to: 1999 } }],
  counters: [{ id: '1', name: '1번 창구', services: ['resident'] }],
  dispenser: { buttons: [{ id: 'resident', service: 'resident' }] },
});
const logger = pino({ level: 'silent' });
const buttons = await createButtonSource(config, logger);
const keypads = await createKeypadSource(config, logger);
const sim = { buttons, keypads, loaded: loaded() };
// positive control: the same check does see them once they are imported
// (a module whose native part failed to build throws on import and leaves the cache again, so
// only the ones that did import are expected to show)
const imported = [];
for (const name of ['onoff', 'node-hid', 'serialport']) await import(name).then(() => imported.push(name), () => {});
console.log(JSON.stringify({ sim, imported, control: loaded() }));
`;

describe('native modules load lazily', () => {
  it('the simulator default builds no driver and loads no native module', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: new URL('..', import.meta.url).pathname,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as {
      sim: { buttons: unknown; keypads: unknown; loaded: string[] };
      imported: string[];
      control: string[];
    };
    expect(result.sim).toEqual({ buttons: null, keypads: null, loaded: [] });
    // node-hid's JavaScript always imports (its binding loads on first use): the control never is empty
    expect(result.imported).toContain('node-hid');
    expect(result.control).toEqual(expect.arrayContaining(result.imported));
  });
});
