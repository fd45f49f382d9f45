// A real RabbitMQ cluster (Debian's rabbitmq-server 3.10 with the rabbitmq_mqtt plugin) for the
// interop tests and the fleet benchmark: N nodes on this machine (rmq1@localhost…), each with its
// own data, log, config and ports, an epmd of our own on a free port (so nothing is shared with
// another Erlang on the machine), one Erlang cookie in a shared HOME, nodes 2…N joined to node 1
// with `rabbitmqctl stop_app / join_cluster / start_app`, accounts loaded from a definitions file
// at node 1's boot (rabbitmqctl add_user costs a VM start each: 300 accounts would take minutes).
// In CI a missing rabbitmq-server fails, never skips. The tests import it from here, so bench/
// never imports tests/.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { freePort, tempDir } from './mqtt-client.ts';

const BIN = '/usr/lib/rabbitmq/bin';
export const RABBITMQ_SERVER = join(BIN, 'rabbitmq-server');
const RABBITMQCTL = join(BIN, 'rabbitmqctl');
const EPMD = ['/usr/bin/epmd', '/usr/lib/erlang/bin/epmd'].find((p) => existsSync(p)) ?? null;

/** In CI the cluster suite must run: a missing rabbitmq-server is a failure, not a skip. */
export function rabbitmqAvailable(): boolean {
  if (existsSync(RABBITMQ_SERVER) && existsSync(RABBITMQCTL) && EPMD) return true;
  if (process.env.CI)
    throw new Error('rabbitmq-server is not installed but CI is set: apt-get install -y rabbitmq-server');
  return false;
}

export interface RabbitUser {
  username: string;
  password: string;
  /** regexp over the routing key (MQTT topic with `/` as `.`) the user may publish to */
  write: string;
  /** regexp over the routing key of the topic filters the user may subscribe to (`+` is `*`) */
  read: string;
}

/** `beonho/v1/singok2/` as a RabbitMQ topic-permission prefix: `^beonho\.v1\.singok2\.` */
export function topicPattern(mqttTopicPrefix: string): string {
  return `^${mqttTopicPrefix.replace(/\//g, '.').replace(/[.+*?^$()[\]{}|\\]/g, (c) => `\\${c}`)}`;
}

/** An office's uplink account: it publishes only under its own office, reads only its commands. */
export function officeUser(office: string, password: string, username = office): RabbitUser {
  return {
    username,
    password,
    write: topicPattern(`beonho/v1/${office}/`),
    read: `${topicPattern(`beonho/v1/${office}/cmd`)}$`,
  };
}

/** Central: reads every office, publishes only commands. */
export function centralUser(username: string, password: string): RabbitUser {
  return { username, password, write: '^beonho\\.v1\\.[^.]+\\.cmd$', read: '^beonho\\.v1\\.' };
}

/** rabbit_password_hashing_sha256: base64(salt ++ sha256(salt ++ password)), 4 bytes of salt. */
export function rabbitPasswordHash(password: string): string {
  const salt = randomBytes(4);
  const digest = createHash('sha256').update(salt).update(password, 'utf8').digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

export interface RabbitClusterOptions {
  nodes?: number;
  users: RabbitUser[];
  /** where persistent MQTT sessions live: `quorum` replicates them over the nodes (survives a
   * node's death); `classic`, RabbitMQ's default, keeps each on the node it was made on */
  durableQueueType?: 'quorum' | 'classic';
  /** mqtt.prefetch: unacknowledged QoS 1 messages in flight to one subscriber (RabbitMQ: 10) */
  prefetch?: number;
}

interface RabbitNode {
  index: number;
  name: string;
  dir: string;
  mqttPort: number;
  amqpPort: number;
  distPort: number;
  proc: ChildProcess | null;
  exited: Promise<void>;
}

export class RabbitCluster {
  readonly dir = tempDir('beonho-rabbitmq-');
  readonly nodes: RabbitNode[] = [];
  private epmd: ChildProcess | null = null;
  private epmdPort = 0;
  private readonly home: string;

  constructor(private readonly o: RabbitClusterOptions) {
    this.home = join(this.dir, 'home');
  }

  /** Starts every node, clusters them and waits until each takes MQTT connections. ~20 s on 2 cores.
   * A second try, from scratch on new ports, when the first fails: a port found free can be taken
   * by another process before the node binds it (the test suites run in parallel), and a node
   * that could not bind its port is gone by the time it is joined to the cluster. */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.startOnce();
        return;
      } catch (err) {
        if (attempt >= 2) throw err;
      }
    }
  }

  private async startOnce(): Promise<void> {
    const n = this.o.nodes ?? 3;
    this.nodes.length = 0;
    mkdirSync(this.home, { recursive: true });
    // One cookie for the nodes and the CLI: that is what makes them one cluster.
    writeFileSync(join(this.home, '.erlang.cookie'), randomBytes(20).toString('hex'), { mode: 0o400 });
    const defs = join(this.dir, 'definitions.json');
    writeFileSync(defs, JSON.stringify(definitions(this.o.users)));
    this.epmdPort = await freePort();
    this.epmd = spawn(EPMD!, ['-port', String(this.epmdPort)], { stdio: 'ignore', detached: true });
    await waitPort(this.epmdPort, 10_000, () => this.epmd?.exitCode !== null, 'epmd');
    for (let i = 1; i <= n; i++) {
      const dir = join(this.dir, `rmq${i}`);
      mkdirSync(join(dir, 'mnesia'), { recursive: true });
      mkdirSync(join(dir, 'log'), { recursive: true });
      const node: RabbitNode = {
        index: i,
        name: `rmq${i}@localhost`,
        dir,
        mqttPort: await freePort(),
        amqpPort: await freePort(),
        distPort: await freePort(),
        proc: null,
        exited: Promise.resolve(),
      };
      writeFileSync(
        join(dir, 'rabbitmq.conf'),
        [
          `listeners.tcp.default = 127.0.0.1:${node.amqpPort}`,
          `mqtt.listeners.tcp.default = 127.0.0.1:${node.mqttPort}`,
          'mqtt.allow_anonymous = false',
          `mqtt.durable_queue_type = ${this.o.durableQueueType ?? 'quorum'}`,
          ...(this.o.prefetch ? [`mqtt.prefetch = ${this.o.prefetch}`] : []),
          // Accounts at boot; nodes 2…N take node 1's when they join.
          ...(i === 1 ? [`load_definitions = ${defs}`] : []),
          // A test machine's disk may be small; the default alarm (50 MB) is fine, but say so.
          'disk_free_limit.absolute = 50MB',
          '',
        ].join('\n'),
      );
      writeFileSync(join(dir, 'enabled_plugins'), '[rabbitmq_mqtt].\n');
      this.nodes.push(node);
    }
    try {
      await Promise.all(this.nodes.map((node) => this.spawnNode(node)));
      // One at a time: RabbitMQ's docs join nodes to a cluster one after another.
      for (const node of this.nodes.slice(1)) {
        await this.ctl(node, ['stop_app']);
        await this.ctl(node, ['join_cluster', this.nodes[0]!.name]);
        await this.ctl(node, ['start_app']);
        await waitPort(node.mqttPort, 60_000, () => node.proc?.exitCode !== null, node.name);
      }
    } catch (err) {
      await this.destroy();
      throw err;
    }
  }

  url(i: number): string {
    return `mqtt://127.0.0.1:${this.node(i).mqttPort}`;
  }

  urls(): string[] {
    return this.nodes.map((n) => this.url(n.index));
  }

  running(i: number): boolean {
    const p = this.node(i).proc;
    return p !== null && p.exitCode === null && p.signalCode === null;
  }

  /** The node dies at once (SIGKILL of its process group): no clean close of its connections, and
   * no will from it, as when its machine loses power. */
  async kill(i: number): Promise<void> {
    const node = this.node(i);
    if (!this.running(i)) return;
    process.kill(-node.proc!.pid!, 'SIGKILL');
    await node.exited;
    node.proc = null;
  }

  /** Starts a stopped node again on the same data; it rejoins the cluster by itself. */
  async restart(i: number): Promise<void> {
    const node = this.node(i);
    if (this.running(i)) return;
    await this.spawnNode(node);
  }

  /** Process ids of every running node's process group (for RSS and CPU figures). */
  processIds(): number[] {
    const groups = new Set(this.nodes.filter((n) => this.running(n.index)).map((n) => n.proc!.pid!));
    return processesOfGroups(groups);
  }

  async destroy(): Promise<void> {
    // SIGKILL: the data goes with the temp dir, and a graceful stop of a cluster takes seconds a node.
    for (const node of this.nodes) if (this.running(node.index)) process.kill(-node.proc!.pid!, 'SIGKILL');
    await Promise.all(this.nodes.map((n) => n.exited));
    for (const node of this.nodes) node.proc = null;
    const epmd = this.epmd;
    this.epmd = null;
    if (epmd && epmd.exitCode === null) {
      const gone = new Promise<void>((r) => epmd.once('exit', () => r()));
      process.kill(-epmd.pid!, 'SIGKILL');
      await gone;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Runs rabbitmqctl against a node (each call starts a small Erlang VM: about a second). */
  ctl(node: RabbitNode | number, args: string[]): Promise<string> {
    const n = typeof node === 'number' ? this.node(node) : node;
    return new Promise((resolve, reject) => {
      execFile(RABBITMQCTL, ['-n', n.name, ...args], { env: this.env(), timeout: 120_000 }, (err, stdout, stderr) =>
        err
          ? reject(new Error(`rabbitmqctl ${args.join(' ')} on ${n.name}: ${stderr || err.message}`))
          : resolve(stdout),
      );
    });
  }

  private node(i: number): RabbitNode {
    const node = this.nodes[i - 1];
    if (!node) throw new Error(`no node ${i}`);
    return node;
  }

  private env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      LANG: 'C.UTF-8',
      HOME: this.home,
      ERL_EPMD_PORT: String(this.epmdPort),
      ...extra,
    };
  }

  private async spawnNode(node: RabbitNode): Promise<void> {
    const proc = spawn(RABBITMQ_SERVER, [], {
      env: this.env({
        RABBITMQ_NODENAME: node.name,
        RABBITMQ_MNESIA_BASE: join(node.dir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(node.dir, 'log'),
        RABBITMQ_CONFIG_FILE: join(node.dir, 'rabbitmq.conf'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(node.dir, 'enabled_plugins'),
        RABBITMQ_DIST_PORT: String(node.distPort),
      }),
      cwd: node.dir,
      // Its own process group: kill() takes the shell wrapper, the VM and its helpers together.
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    proc.stderr?.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    node.proc = proc;
    node.exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    try {
      await waitPort(node.mqttPort, 90_000, () => proc.exitCode !== null, node.name);
    } catch (e) {
      throw new Error(`${(e as Error).message}: ${err}${lastLog(node)}`);
    }
  }
}

function definitions(users: RabbitUser[]): unknown {
  return {
    vhosts: [{ name: '/' }],
    users: users.map((u) => ({
      name: u.username,
      password_hash: rabbitPasswordHash(u.password),
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags: [],
    })),
    // The MQTT plugin declares a queue per session and binds it to amq.topic: resource rights to
    // all; what each may publish and subscribe to is the topic permission below.
    permissions: users.map((u) => ({ user: u.username, vhost: '/', configure: '.*', write: '.*', read: '.*' })),
    topic_permissions: users.map((u) => ({
      user: u.username,
      vhost: '/',
      exchange: 'amq.topic',
      write: u.write,
      read: u.read,
    })),
  };
}

function lastLog(node: RabbitNode): string {
  try {
    const file = join(node.dir, 'log', `${node.name}.log`);
    return `\n${readFileSync(file, 'utf8').split('\n').slice(-30).join('\n')}`;
  } catch {
    return '';
  }
}

async function waitPort(port: number, ms: number, dead: () => boolean, what: string): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = netConnect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (dead()) throw new Error(`${what} exited before listening on ${port}`);
    if (Date.now() > end) throw new Error(`${what} did not listen on ${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every process whose process group is one of `groups` (a node's shell, VM and helpers). */
export function processesOfGroups(groups: Set<number>): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid pgrp …: comm may hold spaces, so split after its closing parenthesis.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (groups.has(Number(fields[2]))) out.push(Number(name));
    } catch {}
  }
  return out;
}
