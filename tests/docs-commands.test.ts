// What README.md and docs/*.md tell a person to run must exist and take what they give it: every
// `npm run` script named is in package.json (and every script is in the README), every option the
// docs give a command is one that command's --help lists, every option a command takes is in the
// page that documents it, and every file path and link into the repository (anchors too) exists.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).flatMap((f) => (f.endsWith('.md') ? [`docs/${f}`] : []))];
const SCRIPTS = Object.keys((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts);

/** An option as written in prose or a command line: `--word`, not part of a longer token. */
const FLAG = /(?<![\w-])--[a-z][a-z0-9-]*/g;

// The commands with options, each run with --help (through tsx: no build needed), and the page
// that documents its options.
const CLIS = {
  daemon: { argv: ['device/main.ts', '--help'], doc: 'README.md' },
  start: { argv: ['sim/supervisor.ts', '--help'], doc: 'docs/simulator.md' },
  central: { argv: ['sim/central/main.ts', '--help'], doc: 'docs/simulator.md' },
  demo: { argv: ['sim/demo/main.ts', '--help'], doc: 'docs/simulator.md' },
  install: { argv: ['deploy/install.ts', 'install', '--help'], doc: 'docs/deploy.md' },
  uninstall: { argv: ['deploy/install.ts', 'uninstall', '--help'], doc: 'docs/deploy.md' },
  status: { argv: ['deploy/status.ts', '--help'], doc: 'docs/deploy.md' },
  release: { argv: ['scripts/release.ts', '--help'], doc: 'docs/deploy.md' },
  soak: { argv: ['tests/soak/main.ts', '--help'], doc: 'docs/soak.md' },
  'hw list': { argv: ['device/hw-tool.ts', 'list', '--help'], doc: 'docs/hardware.md' },
  'hw keypad': { argv: ['device/hw-tool.ts', 'keypad', '--help'], doc: 'docs/hardware.md' },
  'hw gpio': { argv: ['device/hw-tool.ts', 'gpio', '--help'], doc: 'docs/hardware.md' },
  'hash-password': { argv: ['bridge/broker/hash-password.ts', '--help'], doc: 'docs/mqtt.md' },
} as const;
type Cli = keyof typeof CLIS;

// Options of other programs the docs name (node, npm, systemd's and the system's tools).
const OTHER_PROGRAMS = new Set([
  '--cpu', // npm ci
  '--delete', // gpasswd
  '--expose-gc', // node
  '--import', // node
  '--ipa', // espeak
  '--jitless', // node
  '--liftoff-only', // node
  '--max-semi-space-size', // node
  '--memory', // a container's runtime
  '--no-opt', // node
  '--now', // systemctl
  '--omit', // npm ci
  '--optimize-for-size', // node
  '--reload', // udevadm
  '--since', // journalctl
  '--sort', // ls, tar
  '--vacuum-size', // journalctl
  '--version', // node
]);

async function run(argv: readonly string[]): Promise<string> {
  return (await runCode(argv)).out;
}

/** Runs a TypeScript entry point through tsx: its exit code and its output, stderr included. */
function runCode(argv: readonly string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...argv], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b));
    child.stderr.on('data', (b: Buffer) => (out += b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** The options a --help text lists: its option lines (`  -c, --config <file>  …`), or a usage line. */
function optionsOf(help: string): Set<string> {
  const out = new Set<string>();
  for (const line of help.split('\n')) {
    const option = /^\s+(?:-\w, )?(--[a-z][\w-]*)/.exec(line);
    if (option) out.add(option[1]!);
    else if (/^usage: npm run/i.test(line)) for (const m of line.matchAll(FLAG)) out.add(m[0]);
  }
  out.delete('--help');
  return out;
}

/** Markdown without its fenced code: for headings and links. */
const prose = (md: string): string => md.replace(/^```[\s\S]*?^```/gm, '');

/** GitHub's anchor of a heading. */
const anchor = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

function anchorsOf(file: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  for (const m of prose(read(file)).matchAll(/^#{1,6} (.+)$/gm)) {
    const a = anchor(m[1]!);
    const n = seen.get(a) ?? 0;
    seen.set(a, n + 1);
    out.add(n === 0 ? a : `${a}-${n}`);
  }
  return out;
}

/** Each command line the docs give (in a code span or a line of a code block), as the command and its arguments. */
function invocations(): { file: string; cli: Cli | 'none'; args: string; text: string }[] {
  const out: { file: string; cli: Cli | 'none'; args: string; text: string }[] = [];
  const SCRIPT_CLI: Record<string, Cli | 'none'> = {
    start: 'start',
    central: 'central',
    demo: 'demo',
    'install-service': 'install',
    'uninstall-service': 'uninstall',
    status: 'status',
    release: 'release',
    soak: 'soak',
    'hash-password': 'hash-password',
  };
  const ENTRY_CLI: Record<string, Cli> = {
    'dist/device/main.js': 'daemon',
    'device/main.ts': 'daemon',
    'dist/deploy/status.js': 'status',
    'dist/deploy/install.js': 'install',
  };
  for (const file of DOCS) {
    const md = read(file);
    const pieces = [
      ...[...prose(md).matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!),
      ...[...md.matchAll(/^```\w*\n([\s\S]*?)^```/gm)].flatMap((m) => m[1]!.split('\n')),
    ];
    for (const piece of pieces) {
      for (const m of piece.matchAll(
        /npm (?:run (?:-s )?([\w:-]+)|(start|test))( -- )?|node (?:--import tsx )?(?:\/opt\/beonho\/)?((?:dist\/)?[\w/-]+\.[jt]s)\b|npx tsx ([\w/.-]+\.ts)\b/g,
      )) {
        // the arguments: up to a comment, a pipe, the next command or the end of the line
        const rest = piece.slice(m.index + m[0].length).split(/\s#|\s\|\s|&&|;/)[0]!;
        const script = m[1] ?? m[2];
        let cli: Cli | 'none' | undefined;
        if (script !== undefined) {
          if (script === 'hw') {
            const sub = /^\s*(list|keypad|gpio)\b/.exec(rest)?.[1];
            cli = sub ? (`hw ${sub}` as Cli) : 'none';
          } else cli = SCRIPT_CLI[script] ?? 'none';
          if (m[3] === undefined) {
            out.push({ file, cli, args: '', text: m[0] });
            continue;
          }
        } else cli = ENTRY_CLI[m[4] ?? m[5] ?? ''];
        if (cli === undefined) continue;
        out.push({ file, cli, args: rest, text: `${m[0]}${rest}` });
      }
    }
  }
  return out;
}

describe('the scripts the docs name', () => {
  it('are in package.json', () => {
    const named = new Set<string>();
    for (const file of DOCS) {
      for (const m of read(file).matchAll(/npm (?:run (?:-s )?([\w:-]+)|(start|test)\b)/g)) named.add(m[1] ?? m[2]!);
    }
    expect(named.size).toBeGreaterThan(10);
    expect(
      [...named].filter((s) => !SCRIPTS.includes(s)),
      'named in the docs, not in package.json',
    ).toEqual([]);
  });

  it("are all of package.json's: each script is in the README", () => {
    const readme = read('README.md');
    const missing = SCRIPTS.filter((s) =>
      s === 'start' || s === 'test' ? !readme.includes(`npm ${s}`) : !readme.includes(`npm run ${s}`),
    );
    expect(missing, 'add these to the Scripts table of README.md').toEqual([]);
  });
});

describe('the options the docs give', () => {
  const options = new Map<Cli, Set<string>>();
  beforeAll(async () => {
    const entries = Object.entries(CLIS) as [Cli, (typeof CLIS)[Cli]][];
    // two at a time: the machine has 2 cores
    for (let i = 0; i < entries.length; i += 2) {
      const batch = entries.slice(i, i + 2);
      const helps = await Promise.all(batch.map(([, c]) => run(c.argv)));
      for (const [j, [name]] of batch.entries()) options.set(name, optionsOf(helps[j]!));
    }
    // npm start takes the daemon's options too and says so in its --help
    for (const o of options.get('daemon')!) options.get('start')!.add(o);
  }, 120_000);

  it('are read from each command', () => {
    expect(options.get('daemon')).toContain('--data-dir');
    expect(options.get('start')).toContain('--sim-port');
    expect(options.get('install')).toContain('--dry-run');
    expect(options.get('release')).toContain('--arch');
    expect(options.get('hw gpio')).toContain('--active-high');
    expect(options.get('demo')!.size).toBe(0);
  });

  it('on a command line are options that command takes', () => {
    const wrong: string[] = [];
    const seen = new Set<Cli | 'none'>();
    for (const { file, cli, args, text } of invocations()) {
      seen.add(cli);
      const takes = cli === 'none' ? new Set<string>() : options.get(cli)!;
      for (const [flag] of args.matchAll(FLAG)) {
        if (flag !== '--help' && !takes.has(flag)) wrong.push(`${file}: ${text.trim()} (${cli}: no ${flag})`);
      }
    }
    // the pattern still finds the commands
    expect([...seen]).toEqual(expect.arrayContaining(['start', 'install', 'status', 'soak', 'release', 'hw keypad']));
    expect(wrong).toEqual([]);
  });

  it("anywhere are options of one of beonho's commands, or of a program named in OTHER_PROGRAMS", () => {
    const ours = new Set([...options.values()].flatMap((s) => [...s]));
    const unknown: string[] = [];
    for (const file of DOCS) {
      for (const [flag] of read(file).matchAll(FLAG)) {
        if (flag !== '--help' && !ours.has(flag) && !OTHER_PROGRAMS.has(flag)) unknown.push(`${file}: ${flag}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('are all a command takes: each is in the page that documents the command', () => {
    const undocumented: string[] = [];
    for (const [name, { doc }] of Object.entries(CLIS) as [Cli, (typeof CLIS)[Cli]][]) {
      const text = read(doc);
      for (const o of options.get(name)!) {
        if (!new RegExp(`(?<![\\w-])${o}(?![\\w-])`).test(text)) undocumented.push(`${name}: ${o} (${doc})`);
      }
    }
    expect(undocumented).toEqual([]);
  });

  it("README's list of the daemon's options is the daemon's, with their variables", async () => {
    const readme = read('README.md');
    const start = readme.indexOf('Options (');
    const paragraph = readme.slice(start, readme.indexOf('\n\n', start));
    const listed = new Set([...paragraph.matchAll(FLAG)].map((m) => m[0]).filter((o) => o !== '--help'));
    expect(listed).toEqual(options.get('daemon'));
    const help = await run(CLIS.daemon.argv);
    for (const [, variable] of help.replace(/\s+/g, ' ').matchAll(/env: (BEONHO_\w+)/g)) {
      expect(paragraph, variable).toContain(variable);
    }
  });
});

describe('the release script', () => {
  it('stops at an option it does not know, as docs/deploy.md says, before it builds anything', async () => {
    // an unknown --arch too, so that a release that took the typo would stop without building
    const { code, out } = await runCode(['scripts/release.ts', '--arch', 'nope', '--ndoe', '20.19.6']);
    expect(out).toMatch(/--ndoe/);
    expect(code).toBe(2);
    expect(read('docs/deploy.md')).toMatch(/An option it does not know stops it \(exit 2\)/);
  });
});

describe('the paths the docs give', () => {
  it('exist in the repository: files named in the text, links and their anchors', () => {
    const missing: string[] = [];
    const anchors = new Map<string, Set<string>>();
    const anchorOk = (target: string, a: string): boolean => {
      if (!anchors.has(target)) anchors.set(target, anchorsOf(target));
      return anchors.get(target)!.has(a);
    };
    let links = 0;
    for (const file of DOCS) {
      const md = read(file);
      for (const m of prose(md).matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1]!;
        if (/^[a-z]+:/.test(link)) continue;
        links++;
        const [p, a] = link.split('#');
        const target = p ? normalize(join(dirname(file), p)) : file;
        if (!existsSync(join(ROOT, target))) missing.push(`${file}: link ${link}`);
        else if (a !== undefined && target.endsWith('.md') && !anchorOk(target, a))
          missing.push(`${file}: link ${link} (no such heading)`);
      }
      // a repository path in the text, with an anchor when it has one; paths under the data dir
      // (sim/board.png, sim/tickets/) and patterns (<id>, *) are not the repository's
      for (const m of md.matchAll(
        /(?<![\w/.<>-])((?:bench|bridge|config|deploy|device|display|docs|scripts|sim|tests)\/[\w./-]*\w\.(?:ts|mjs|md|yaml|json))(?:#([\w-]+))?/g,
      )) {
        if (!existsSync(join(ROOT, m[1]!))) missing.push(`${file}: ${m[1]}`);
        else if (m[2] && m[1]!.endsWith('.md') && !anchorOk(m[1]!, m[2]))
          missing.push(`${file}: ${m[0]} (no such heading)`);
      }
    }
    expect(links).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });
});
