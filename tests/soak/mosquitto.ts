// The soak's central broker: a real mosquitto on a free loopback port, with a password file and an
// ACL like central's (the device may touch only its own office's tree). It is never cut: the soak
// cuts the device's power, not central's.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../../bench/lib/free-port.ts';

export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p)) ?? null;
const PASSWD = '/usr/bin/mosquitto_passwd';

export function mosquittoInstalled(): boolean {
  return MOSQUITTO !== null && existsSync(PASSWD);
}

export interface BrokerAccount {
  username: string;
  password: string;
  /** mosquitto ACL lines, e.g. "topic readwrite beonho/v1/singok2/#" */
  acl: string[];
}

const live = new Set<ChildProcess>();

/** Stops every broker still running (the soak itself was interrupted). Synchronous. */
export function stopAllBrokers(): void {
  for (const p of live) p.kill('SIGTERM');
}

export class SoakBroker {
  private proc: ChildProcess | null = null;
  port = 0;

  constructor(
    private readonly dir: string,
    private readonly accounts: BrokerAccount[],
  ) {}

  url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (!mosquittoInstalled())
      throw new Error('mosquitto is not installed: apt-get install -y mosquitto mosquitto-clients');
    this.port = await freePort();
    const pw = join(this.dir, 'passwd');
    const acl = join(this.dir, 'acl');
    writeFileSync(pw, '');
    for (const a of this.accounts) execFileSync(PASSWD, ['-b', pw, a.username, a.password]);
    writeFileSync(acl, this.accounts.map((a) => [`user ${a.username}`, ...a.acl, ''].join('\n')).join('\n'));
    for (const f of [pw, acl]) chmodSync(f, 0o600);
    const conf = join(this.dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        `listener ${this.port} 127.0.0.1`,
        'allow_anonymous false',
        `password_file ${pw}`,
        `acl_file ${acl}`,
        // the device's session (its cmd subscription) must outlive every power cut: commands sent
        // while it is down wait here, which is the backlog the soak wants
        'persistent_client_expiration 1d',
        'max_queued_messages 1000000',
        'max_queued_bytes 0',
        `log_dest file ${join(this.dir, 'mosquitto.log')}`,
        'log_type error',
        'log_type warning',
        'log_type notice',
        // as root, mosquitto 2 would drop to the mosquitto user, which cannot read our private dir
        process.getuid?.() === 0 ? 'user root' : '',
        '',
      ].join('\n'),
    );
    const proc = spawn(MOSQUITTO!, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    let err = '';
    proc.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const end = Date.now() + 10_000;
    for (;;) {
      const up = await new Promise<boolean>((resolve) => {
        const s = connect(this.port, '127.0.0.1', () => {
          s.end();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (up) return;
      if (proc.exitCode !== null || Date.now() > end) throw new Error(`mosquitto did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  }
}
