import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { simulatorDefault } from '../device/config/default.ts';
import { ConfigError, loadConfig, MAX_CONFIG_BYTES, validateConfig } from '../device/config/load.ts';
import { Daemon, killAll, writeTestConfig } from './helpers/daemon.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'beonho-config-'));
});
afterEach(killAll);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function problemsOfFile(file: string): Promise<string[]> {
  try {
    await loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

function problems(input: unknown): string[] {
  try {
    validateConfig(input);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const base = simulatorDefault as Record<string, unknown> & typeof simulatorDefault;

describe('config validation', () => {
  it('names a value that contains itself through a YAML alias, instead of failing on it', async () => {
    const file = path.join(dir, 'self-alias.yaml');
    await writeFile(file, 'office: &o\n  id: singok2\n  name: *o\n');
    const err = await loadConfig(file).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toContain(
      'office.name: expected a text, got (a value that contains itself, through a YAML alias)',
    );
  });

  it('accepts the built-in simulator office and the documented example', async () => {
    expect(problems(simulatorDefault)).toEqual([]);
    const { config } = await loadConfig(path.resolve(import.meta.dirname, '../config/example.yaml'));
    expect(config.office.timeZone).toBe('Asia/Seoul');
    expect(config.services.length).toBeGreaterThan(0);
  });

  it("prints the simulator's and the demo's QR links to the simulated central's QR page", async () => {
    const page = 'http://127.0.0.1:8090/q/{office}/{day}/{number}?t={token}';
    expect(validateConfig(simulatorDefault).outputs.printer.ticketUrl).toBe(page);
    for (const office of ['cityhall', 'singok2', 'hoewon1']) {
      const { config } = await loadConfig(path.resolve(import.meta.dirname, `../sim/demo/${office}.yaml`));
      expect(config.outputs.printer.ticketUrl, office).toBe(page);
    }
  });

  it('refuses a number range that starts at 0 (0 means "none issued yet" in the state)', () => {
    const services = structuredClone(base.services) as Array<Record<string, unknown>>;
    services[0]!.numbers = { from: 0, to: 999 };
    expect(problems({ ...base, services })).toEqual([
      expect.stringMatching(/^services\[0\]\.numbers\.from: .*start at 1/),
    ]);
  });

  it('names the field and the value of each problem, one line each', () => {
    const services = structuredClone(base.services) as Array<Record<string, unknown>>;
    services[2]!.cutoff = '25:00';
    services[1]!.colour = 'red';
    expect(problems({ ...base, services })).toEqual([
      'services[1]: unknown key "colour"',
      'services[2].cutoff: expected HH:MM (00:00 to 23:59), got "25:00"',
    ]);
  });

  it.each([
    [{ office: { id: 'Bad Id', name: 'x' } }, /^office\.id: expected a slug.*got "Bad Id"/],
    [
      { office: { id: 'a', name: 'x', timeZone: 'Mars/Base' } },
      /^office\.timeZone: expected an IANA time zone.*got "Mars\/Base"$/,
    ],
    [{ services: [] }, /^services: /],
    [{ policy: { priority: 'sometimes' } }, /^policy\.priority: .*got "sometimes"/],
    [{ policy: { near: [-1] } }, /^policy\.near\[0\]: /],
    [
      { counters: [{ id: '1', name: 'x', services: ['nope'] }] },
      /^counters\[0\]\.services\[0\]: unknown service "nope"/,
    ],
    [{ unknownTop: 1 }, /^\(top level\): unknown key "unknownTop"$/],
  ] as const)('refuses %j', (patch, re) => {
    const out = problems({ ...base, ...patch });
    expect(
      out.some((p) => re.test(p)),
      out.join('\n'),
    ).toBe(true);
  });

  it('shows the value a custom rule refused, once', () => {
    const services = structuredClone(base.services) as Array<Record<string, unknown>>;
    services[0]!.numbers = { from: 500, to: 5 };
    expect(problems({ ...base, office: { ...base.office, timeZone: 'Asia/Seol' }, services })).toEqual([
      'office.timeZone: expected an IANA time zone such as Asia/Seoul, got "Asia/Seol"',
      'services[0].numbers.to: must be >= from (500), got 5',
    ]);
    // a rule whose message names the value already does not repeat it
    expect(problems({ ...base, counters: [{ id: '1', name: 'x', services: ['nope'] }] })).toEqual([
      'counters[0].services[0]: unknown service "nope"',
    ]);
  });

  it('cuts a long value short, and never shows a password, a hash or a secret', () => {
    const [line] = problems({ ...base, office: { ...base.office, timeZone: `Asia/${'x'.repeat(200)}` } });
    expect(line).toMatch(/, got "Asia\/x+\.\.\."$/);
    expect(line!.length).toBeLessThan(140);
    const out = problems({
      ...base,
      mqtt: {
        uplink: { url: 'mqtt://central:1883', password: 12345678 },
        broker: { accounts: [{ username: 'c', passwordHash: 'hunter2', role: 'central' }] },
      },
    });
    expect(out).toEqual([
      'mqtt.broker.accounts[0].passwordHash: expected a hash from `npm run hash-password`, got (hidden)',
      'mqtt.uplink.password: expected a text, got (hidden)',
    ]);
  });

  it('never shows the user name and password written into a URL (mqtt://user:pass@host)', () => {
    const uplink = (url: unknown) => problems({ ...base, mqtt: { uplink: { url } } });
    expect(uplink('http://beonho:S3cretPW@central.example:1883')).toEqual([
      'mqtt.uplink.url: expected an mqtt://, mqtts://, ws:// or wss:// URL, got "http://***@central.example:1883"',
    ]);
    // a list is shown as JSON: each URL's credentials hidden, the URLs told apart by their hosts
    const [line] = uplink(['mqtt://a:1883', 'mqtt://beonho:S3cretPW@b:1883', 'mqtt://beonho:S3cretPW@b:1883']);
    expect(line).toMatch(
      /^mqtt\.uplink\.url: the same URL is listed twice, got \["mqtt:\/\/a:1883","mqtt:\/\/\*\*\*@b/,
    );
    // cut short after the credentials are hidden, so no part of a password is left at the cut
    const long = uplink(`http://beonho:${'S3cret@PW'.repeat(10)}@central.example:1883`);
    expect(long).toEqual([
      'mqtt.uplink.url: expected an mqtt://, mqtts://, ws:// or wss:// URL, got "http://***@central.example:1883"',
    ]);
    const satellite = problems({
      ...base,
      role: 'satellite',
      satellite: { main: { url: 'http://counter-12:S3cretPW@10.0.0.2:1883' } },
    });
    expect(satellite).toContain(
      'satellite.main.url: expected an mqtt://, mqtts://, ws:// or wss:// URL, got "http://***@10.0.0.2:1883"',
    );
  });

  it('says plainly that a required key is missing, and which known key a typo meant', () => {
    const { counters, ...rest } = base;
    expect(problems({ ...rest, counter: counters })).toEqual([
      'counters: required (a list of counters), missing',
      '(top level): unknown key "counter": did you mean "counters"?',
    ]);
    const { timeZone: _, ...office } = base.office;
    expect(problems({ ...base, office: { ...office, timezone: 'Asia/Seoul' } })).toEqual([
      'office: unknown key "timezone": did you mean "timeZone"?',
    ]);
    expect(problems({ ...base, store: { snapshot_every: 100 } })).toEqual([
      'store: unknown key "snapshot_every": did you mean "snapshotEvery"?',
    ]);
    // a key written twice, once right: no guess; each unknown key is a line of its own
    expect(problems({ ...base, service: [], zzz: 1 })).toEqual([
      '(top level): unknown key "service"',
      '(top level): unknown key "zzz"',
    ]);
    expect(problems({ ...base, services: 'resident' })).toEqual([
      'services: expected a list of services, got "resident"',
    ]);
  });

  it('says that a key written without a value is empty', async () => {
    const file = path.join(dir, 'empty-key.yaml');
    await writeFile(file, 'office: { id: singok2, name: x }\nservices:\ncounters: []\n');
    const err = (await loadConfig(file).catch((e: unknown) => e)) as ConfigError;
    expect(err.problems).toContain('services: expected a list of services, but the key is empty');
  });

  it('refuses overlapping number ranges and duplicate ids', () => {
    const services = [
      { id: 'a', name: '가', numbers: { from: 100, to: 199 } },
      { id: 'b', name: '나', numbers: { from: 150, to: 250 } },
      { id: 'a', name: '다', numbers: { prefix: 'A', from: 100, to: 199 } },
    ];
    const out = problems({
      ...base,
      services,
      counters: [{ id: '1', name: '1', services: ['a'] }],
      dispenser: { buttons: [] },
    });
    expect(out).toContain('services[1].numbers: range 150-250 overlaps services[0] (a) 100-199');
    expect(out).toContain('services[2].id: duplicate service id "a"');
  });

  it('refuses two dispenser buttons with one id (a copied line whose id was left as it was)', () => {
    const buttons = [
      ...base.dispenser!.buttons,
      // a second priority button, for passports: its press would issue the first one's service
      { id: 'priority', service: 'passport', priority: true, label: '여권 우선' },
    ];
    expect(problems({ ...base, dispenser: { buttons } })).toEqual([
      'dispenser.buttons[5].id: duplicate button id "priority" (also dispenser.buttons[4]): give each button its own id',
    ]);
  });

  it('refuses two broker accounts with one username (a copied satellite account whose name was left)', () => {
    const hash = 'scrypt$1024$8$1$c2FsdHNhbHRzYWx0c2FsdA==$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=';
    const satellite = { passwordHash: hash, role: 'satellite', offices: ['singok2'] };
    const accounts = [
      { ...satellite, username: 'counter-3', counters: [3] },
      // meant for counter 4's satellite: the broker kept this one, and counter 3's could not log in
      { ...satellite, username: 'counter-3', counters: [4] },
    ];
    expect(problems({ ...base, mqtt: { broker: { accounts } } })).toEqual([
      'mqtt.broker.accounts[1].username: duplicate account "counter-3" (also mqtt.broker.accounts[0]): give each client its own account',
    ]);
  });

  it('takes a counter id written without quotes (YAML reads `id: 5` as a number), as its references do', async () => {
    const file = path.join(dir, 'counter-number.yaml');
    const example = await readFile(path.resolve(import.meta.dirname, '../config/example.yaml'), 'utf8');
    const text = example
      .replace('{ id: "4", name: 4번 창구', '{ id: 4, name: 4번 창구')
      .concat('hardware:\n  keypads:\n    driver: hid\n    devices:\n      - { counter: 4, port: "1-1.4" }\n');
    await writeFile(file, text);
    const { config } = await loadConfig(file);
    expect(config.counters.map((c) => c.id)).toEqual(['1', '2', '3', '4']);
    const keypads = config.hardware.keypads;
    expect(keypads.driver === 'hid' && keypads.devices.map((d) => d.counter)).toEqual(['4']);
    // what is neither a text nor a whole number is refused in the words of the text it should be
    const counters = structuredClone(base.counters) as Array<Record<string, unknown>>;
    counters[0]!.id = true;
    counters[1]!.id = null;
    expect(problems({ ...base, counters })).toEqual([
      'counters[0].id: expected a text, got true',
      'counters[1].id: expected a text, but the key is empty',
    ]);
  });

  it('reports unreadable files and bad YAML', async () => {
    await expect(loadConfig(path.join(dir, 'missing.yaml'))).rejects.toThrow(/cannot read the file: ENOENT/);
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, 'office: [unclosed');
    await expect(loadConfig(bad)).rejects.toThrow(/not valid YAML/);
    const tabs = path.join(dir, 'tabs.yaml');
    await writeFile(tabs, 'office:\n\tid: singok2\n');
    // the parser's first line ends with a colon that introduced the quoted lines, left out
    expect(await problemsOfFile(tabs)).toEqual([
      'not valid YAML: Tabs are not allowed as indentation at line 2, column 1',
    ]);
    expect(await problemsOfFile(dir)).toEqual(['this is a directory: give the config file in it']);
  });

  it('says an empty file is empty, rather than listing every required key', async () => {
    const file = path.join(dir, 'empty.yaml');
    for (const text of ['', '\n', '# only a comment\n', '---\n']) {
      await writeFile(file, text);
      expect(await problemsOfFile(file), JSON.stringify(text)).toEqual([
        'the file has no settings (it is empty or only comments): start from config/example.yaml',
      ]);
    }
  });

  it('refuses a file that is not UTF-8 (saved as EUC-KR or UTF-16 on Windows) instead of garbling its Korean', async () => {
    const euckr = path.join(dir, 'euc-kr.yaml');
    // 신곡 in EUC-KR (CP949): read as UTF-8 it was two U+FFFD marks on the board and the ticket
    const name = Buffer.from([0xbd, 0xc5, 0xb0, 0xee]);
    await writeFile(euckr, Buffer.concat([Buffer.from('office:\n  id: singok2\n  name: '), name, Buffer.from('2\n')]));
    expect(await problemsOfFile(euckr)).toEqual([
      'line 3: the file is not UTF-8 text (Korean saved as EUC-KR/CP949, "ANSI"?): save it as UTF-8 (in Notepad: Save as, Encoding UTF-8)',
    ]);
    const utf16 = path.join(dir, 'utf-16.yaml');
    await writeFile(utf16, Buffer.from('\ufeffoffice:\n  id: singok2\n', 'utf16le'));
    expect(await problemsOfFile(utf16)).toEqual([
      'the file is UTF-16 text: save it as UTF-8 (in Notepad: Save as, Encoding UTF-8)',
    ]);
    // UTF-8 with a byte-order mark, as Notepad writes it, is fine
    const bom = path.join(dir, 'bom.yaml');
    const example = await readFile(path.resolve(import.meta.dirname, '../config/example.yaml'), 'utf8');
    await writeFile(bom, `\ufeff${example}`);
    expect((await loadConfig(bom)).config.office.name).toBe('신곡2동 행정복지센터');
  });

  it('refuses a file far larger than a config without parsing it (a tarball given to --config)', async () => {
    const file = path.join(dir, 'huge.yaml');
    await writeFile(file, '# x\n'.repeat(MAX_CONFIG_BYTES / 4 + 1));
    expect(await problemsOfFile(file)).toEqual([
      'the file is 1.0 MB, where a config is a few KB: is it the right file?',
    ]);
  });

  it('the daemon stops at start with one line per problem and exit code 2', async () => {
    const file = await writeTestConfig(path.join(dir, 'broken.yaml'), { policy: { noShowHoldMinutes: 'ten' } });
    const d = new Daemon(['--config', file, '--data-dir', path.join(dir, 'data')]);
    expect(await d.exited).toBe(2);
    expect(d.stderr).toMatch(/policy\.noShowHoldMinutes: .*got "ten"/);
  });
});
