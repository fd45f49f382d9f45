// A real mosquitto for the benchmarks, the bridge tests and the power-cut soak: started on a free
// loopback port with a generated config, password file (mosquitto_passwd) and ACL file. In CI a
// missing mosquitto fails, never skips. The tests import it from here
// (tests/bridge-mosquitto-server.ts, tests/soak/), so bench/ never imports tests/.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { freePort, tempDir } from './mqtt-client.ts';

export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p)) ?? null;
const PASSWD = '/usr/bin/mosquitto_passwd';

/** Whether mosquitto and mosquitto_passwd are installed. */
export function mosquittoInstalled(): boolean {
  return MOSQUITTO !== null && existsSync(PASSWD);
}

/** In CI the mosquitto suite must run: a missing broker is a failure, not a skip. */
export function mosquittoAvailable(): boolean {
  if (mosquittoInstalled()) return true;
  if (process.env.CI)
    throw new Error('mosquitto is not installed but CI is set: apt-get install -y mosquitto mosquitto-clients');
  return false;
}

export interface MosquittoUser {
  username: string;
  password: string;
  /** ACL lines for this user, e.g. "topic readwrite beonho/#" */
  acl: string[];
}

export interface MosquittoOptions {
  /** a second listener with TLS */
  tls?: { cert: string; key: string };
  /** where its config, accounts and data go (default: a temp dir of its own) */
  dir?: string;
  /** the broker's settings after its listeners and accounts (default: persistence on disk, saved
   * every second, and room for 100,000 queued messages per client) */
  settings?: string[];
}

const DEFAULT_SETTINGS = ['persistence true', 'autosave_interval 1', 'max_queued_messages 100000'];

const live = new Set<ChildProcess>();

/** Stops every mosquitto still running, at once (a run interrupted by a signal). */
export function stopAllMosquittos(): void {
  for (const p of live) p.kill('SIGTERM');
}

export class Mosquitto {
  private proc: ChildProcess | null = null;
  readonly dir: string;
  port = 0;
  tlsPort = 0;

  constructor(
    private readonly users: MosquittoUser[],
    private readonly o: MosquittoOptions = {},
  ) {
    this.dir = o.dir ?? tempDir('beonho-mosquitto-');
  }

  async start(port?: number): Promise<void> {
    if (!mosquittoInstalled())
      throw new Error('mosquitto is not installed: apt-get install -y mosquitto mosquitto-clients');
    this.port = port ?? (this.port || (await freePort()));
    const tls = this.o.tls;
    if (tls && !this.tlsPort) this.tlsPort = await freePort();
    const pw = join(this.dir, 'passwd');
    const acl = join(this.dir, 'acl');
    if (!existsSync(pw)) {
      writeFileSync(pw, '');
      for (const u of this.users) execFileSync(PASSWD, ['-b', pw, u.username, u.password]);
      writeFileSync(acl, this.users.map((u) => [`user ${u.username}`, ...u.acl, ''].join('\n')).join('\n'));
      // `user root` below keeps mosquitto from dropping to the mosquitto user, which could not read
      // files in our temp dir; the files stay private to whoever started it.
      for (const f of [pw, acl]) chmodSync(f, 0o600);
    }
    const conf = join(this.dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        `listener ${this.port} 127.0.0.1`,
        'allow_anonymous false',
        `password_file ${pw}`,
        `acl_file ${acl}`,
        `persistence_location ${this.dir}/`,
        ...(this.o.settings ?? DEFAULT_SETTINGS),
        ...(tls ? [`listener ${this.tlsPort} 127.0.0.1`, `certfile ${tls.cert}`, `keyfile ${tls.key}`] : []),
        process.getuid?.() === 0 ? 'user root' : '',
        '',
      ].join('\n'),
    );
    const proc = spawn(MOSQUITTO!, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    let err = '';
    proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const end = Date.now() + 10_000;
    for (;;) {
      try {
        await new Promise<void>((resolve, reject) => {
          const s = netConnect(this.port, '127.0.0.1', () => {
            s.end();
            resolve();
          });
          s.on('error', reject);
        });
        return;
      } catch {
        if (proc.exitCode !== null || Date.now() > end) throw new Error(`mosquitto did not start: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    this.proc = null;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  tlsUrl(): string {
    return `mqtts://127.0.0.1:${this.tlsPort}`;
  }
}
