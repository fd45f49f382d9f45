// `npm start`: the simulator. Forks the daemon core (device/main.ts, same options) with an IPC
// channel, restarts it when it dies, and serves the simulator page on loopback. The page's "power
// cut" SIGKILLs the core; the supervisor starts it again and the page shows it coming back where it
// was. Production (systemd) runs device/main.ts directly: nothing there depends on this file.
//
// Options of its own (stripped before the core sees the rest):
//   --sim-port <port>   page port (env BEONHO_SIM_PORT, default 8080; 0 picks a free one)
import { type ChildProcess, fork } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseCli } from '../device/cli.ts';
import { createLogger } from '../device/log.ts';
import { type Cable, startCable } from './cable.ts';
import { SimHub } from './hub.ts';
import type { CoreMessage, SupervisorMessage } from './ipc-protocol.ts';
import { cableTarget, readConfigDoc, writeCoreConfig } from './sim-config.ts';
import { watchSimFiles } from './sim-files.ts';
import { startSimWeb } from './web.ts';

const CORE = fileURLToPath(new URL('../device/main.ts', import.meta.url));
const POWER_OFF_MS = 1500;

/** Splits our own options from the core's. */
export function splitArgs(argv: string[], env: NodeJS.ProcessEnv): { simPort: number; core: string[]; stdin: boolean } {
  let simPort = env.BEONHO_SIM_PORT ? Number(env.BEONHO_SIM_PORT) : 8080;
  let stdin = true;
  const core: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--sim-port') simPort = Number(argv[++i]);
    else if (a.startsWith('--sim-port=')) simPort = Number(a.slice('--sim-port='.length));
    // The page talks to the core through its stdin: the core always reads it, we decide whether
    // the person's terminal is forwarded.
    else if (a === '--no-stdin') stdin = false;
    else core.push(a);
  }
  if (!Number.isInteger(simPort) || simPort < 0 || simPort > 65535) {
    process.stderr.write(`beonho: --sim-port: not a port number: ${String(simPort)}\n`);
    process.exit(2);
  }
  return { simPort, core, stdin };
}

async function main(): Promise<void> {
  const { simPort, core: coreArgs, stdin } = splitArgs(process.argv.slice(2), process.env);
  if (coreArgs.includes('--help') || coreArgs.includes('-h')) {
    process.stdout.write(
      'npm start: the simulator (this supervisor + the daemon core). Its own options:\n' +
        '  --sim-port <port>  the simulator page on 127.0.0.1 (env BEONHO_SIM_PORT, default 8080; 0: any free port)\n' +
        '  --no-stdin         do not forward this terminal to the core\n' +
        'Every other option goes to the core:\n\n',
    );
  }
  const cli = parseCli(['node', 'beonho', ...coreArgs]);
  const logger = createLogger({ level: cli.logLevel }).child({ component: 'sim-supervisor' });
  const simDir = path.join(cli.dataDir, 'sim');
  await mkdir(simDir, { recursive: true });

  let doc: Record<string, unknown>;
  try {
    doc = await readConfigDoc(cli.config);
  } catch (err) {
    process.stderr.write(`beonho: ${cli.config}: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const target = cableTarget(doc);
  const cable: Cable | null = target ? await startCable(target) : null;
  const coreConfig = await writeCoreConfig(doc, cli.dataDir, cable?.port ?? null);

  let child: ChildProcess | null = null;
  let stopping = false;
  let backoffMs = 1000;
  const hub = new SimHub({
    line: (text) => {
      if (!child?.stdin?.writable) return false;
      child.stdin.write(`${text}\n`); // false only means "buffered": the line is still on its way
      return true;
    },
    send: (msg: SupervisorMessage) => (child?.connected ? child.send(msg) : false),
    powerCut: () => {
      if (!child) return;
      logger.warn('power cut: killing the core (SIGKILL)');
      child.kill('SIGKILL');
    },
    cable,
  });
  let started = 0;

  const spawnCore = (): void => {
    hub.coreStarting(started++ > 0);
    const c = fork(CORE, [...coreArgs, '--config', coreConfig], {
      env: { ...process.env, BEONHO_SIM_SUPERVISOR: '1' },
      stdio: ['pipe', 'inherit', 'inherit', 'ipc'],
    });
    child = c;
    c.on('message', (msg) => {
      if ((msg as CoreMessage).kind === 'ready') backoffMs = 1000;
      hub.fromCore(msg as CoreMessage);
    });
    c.stdin?.on('error', () => {}); // a dying core closes its stdin under our feet
    c.on('exit', (code, signal) => {
      if (child === c) child = null;
      if (stopping) return;
      if (code === 2) {
        // The core refused its config or data dir: restarting would only repeat that.
        logger.error({ code }, 'the core stopped on a problem a person must fix; see above');
        void shutdown(2);
        return;
      }
      const powerCut = signal === 'SIGKILL';
      hub.coreState(
        'down',
        powerCut ? '전원 차단: 코어가 꺼졌습니다' : `코어가 멈췄습니다 (종료 코드 ${code ?? signal}); 다시 시작합니다`,
      );
      const wait = powerCut ? POWER_OFF_MS : backoffMs;
      backoffMs = Math.min(backoffMs * 2, 10_000);
      setTimeout(() => {
        if (!stopping) spawnCore();
      }, wait);
    });
  };

  const stopFiles = watchSimFiles(simDir, (f) => hub.files(f));
  const web = await startSimWeb(hub, simDir, simPort, logger).catch((err: Error) => {
    process.stderr.write(`beonho: ${err.message}\n`);
    return process.exit(2);
  });
  spawnCore();
  // Before anything is printed: whoever reads our output and stops us at once must find them.
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  process.stdout.write(`beonho simulator page: ${web.url}\n`);
  if (cable)
    process.stdout.write(
      `uplink to central ${target!.host}:${target!.port} through the simulator cable on port ${cable.port}\n`,
    );

  if (stdin) {
    const rl = readline.createInterface({ input: process.stdin, terminal: false });
    rl.on('line', (line) => {
      if (child?.stdin?.writable) child.stdin.write(`${line}\n`);
    });
  }

  async function shutdown(code: number): Promise<void> {
    if (stopping) return;
    stopping = true;
    stopFiles();
    const c = child;
    if (c) {
      const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    await web.close();
    await cable?.close();
    process.exit(code);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) void main();
