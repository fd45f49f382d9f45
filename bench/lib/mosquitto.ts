// A real mosquitto for the benchmarks and the bridge tests: started on a free loopback port with a
// generated config, password file (mosquitto_passwd) and ACL file. In CI a missing mosquitto fails,
// never skips. The tests import it from here (tests/bridge-mosquitto-server.ts), so bench/ never
// imports tests/.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { freePort, tempDir } from './mqtt-client.ts';

export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p)) ?? null;

/** In CI the mosquitto suite must run: a missing broker is a failure, not a skip. */
export function mosquittoAvailable(): boolean {
  if (MOSQUITTO && existsSync('/usr/bin/mosquitto_passwd')) return true;
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

export class Mosquitto {
  private proc: ChildProcess | null = null;
  readonly dir = tempDir('beonho-mosquitto-');
  port = 0;
  tlsPort = 0;

  constructor(
    private readonly users: MosquittoUser[],
    private readonly tls?: { cert: string; key: string },
  ) {}

  async start(port?: number): Promise<void> {
    this.port = port ?? (this.port || (await freePort()));
    if (this.tls && !this.tlsPort) this.tlsPort = await freePort();
    const pw = join(this.dir, 'passwd');
    const acl = join(this.dir, 'acl');
    if (!existsSync(pw)) {
      writeFileSync(pw, '');
      for (const u of this.users) execFileSync('/usr/bin/mosquitto_passwd', ['-b', pw, u.username, u.password]);
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
        'persistence true',
        `persistence_location ${this.dir}/`,
        'autosave_interval 1',
        'max_queued_messages 100000',
        ...(this.tls
          ? [`listener ${this.tlsPort} 127.0.0.1`, `certfile ${this.tls.cert}`, `keyfile ${this.tls.key}`]
          : []),
        process.getuid?.() === 0 ? 'user root' : '',
        '',
      ].join('\n'),
    );
    this.proc = spawn(MOSQUITTO!, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    this.proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
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
        if (this.proc.exitCode !== null || Date.now() > end) throw new Error(`mosquitto did not start: ${err}`);
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
