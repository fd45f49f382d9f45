// `npm start`: the simulator. Forks the daemon core (device/main.ts, same options) with an IPC
// channel, restarts it when it dies, and serves the simulator page on loopback. The page's "power
// cut" SIGKILLs the core; the supervisor starts it again and the page shows it coming back where it
// was. Production (systemd) runs device/main.ts directly: nothing there depends on this file.
//
// Options of its own (stripped before the core sees the rest):
//   --sim-port <port>   page port (env BEONHO_SIM_PORT, default 8080; 0 picks a free one)
//   --satellite <file>  a satellite of the office (role: satellite), forked beside the core and
//                       shown on the same page (sim/satellites.ts); repeat for more
import { type ChildProcess, fork } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import * as readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { type CliOptions, parseCli, portNumber } from '../device/cli.ts';
import { ConfigError } from '../device/config/config-error.ts';
import { loadConfig } from '../device/config/load.ts';
import { lockHolder, lockedMessage } from '../device/lock.ts';
import { createLogger } from '../device/log.ts';
import { type Cable, startCable } from './cable.ts';
import { SimHub } from './hub.ts';
import type { CoreMessage, SupervisorMessage } from './ipc-protocol.ts';
import { cableTarget, readConfigDoc, type UplinkTarget, writeCoreConfig } from './sim-config.ts';
import { watchSimFiles } from './sim-files.ts';
import { type Satellites, startSatellites } from './satellites.ts';
import { type SimWeb, startSimWeb } from './web.ts';
import { isMainModule } from '../device/util/main-module.ts';

const CORE = fileURLToPath(new URL('../device/main.ts', import.meta.url));
const POWER_OFF_MS = 1500;

/** Splits our own options from the core's. */
export function splitArgs(
  argv: string[],
  env: NodeJS.ProcessEnv,
): { simPort: number; core: string[]; stdin: boolean; satellites: string[] } {
  // the text as given and where it came from, for a message that names both
  let port = { text: env.BEONHO_SIM_PORT || '8080', from: env.BEONHO_SIM_PORT ? "env 'BEONHO_SIM_PORT'" : '' };
  let stdin = true;
  const core: string[] = [];
  const satellites: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--satellite' && argv[i + 1] !== undefined) satellites.push(argv[++i]!);
    else if (a.startsWith('--satellite=')) satellites.push(a.slice('--satellite='.length));
    else if (a === '--sim-port') port = { text: argv[++i] ?? '', from: '--sim-port' };
    else if (a.startsWith('--sim-port=')) port = { text: a.slice('--sim-port='.length), from: '--sim-port' };
    // The page talks to the core through its stdin: the core always reads it, we decide whether
    // the person's terminal is forwarded.
    else if (a === '--no-stdin') stdin = false;
    else core.push(a);
  }
  const simPort = portNumber(port.text);
  if (simPort === null) {
    process.stderr.write(
      `beonho: the simulator page's port '${port.text}' from ${port.from} is not a port number (0-65535)\n`,
    );
    process.exit(2);
  }
  return { simPort, core, stdin, satellites };
}

async function main(): Promise<void> {
  const { simPort, core: coreArgs, stdin, satellites } = splitArgs(process.argv.slice(2), process.env);
  if (coreArgs.includes('--help') || coreArgs.includes('-h')) printHelp();
  const cli = parseCli(['node', 'beonho', ...coreArgs]);
  const logger = createLogger({ level: cli.logLevel }).child({ component: 'sim-supervisor' });
  // Refused here, before anything is written into the data dir: the core would refuse too, but
  // only after this supervisor had rewritten the running one's sim/core-config.yaml.
  const holder = await lockHolder(cli.dataDir);
  if (holder !== null) {
    process.stderr.write(`beonho: ${lockedMessage(holder, cli.dataDir)}\n`);
    process.exit(2);
  }
  await checkConfig(cli.config);
  const simDir = path.join(cli.dataDir, 'sim');
  await mkdir(simDir, { recursive: true });
  const { target, cable, coreConfig } = await prepareCore(cli);

  let stopping = false;
  const core = new CoreProcess({
    args: [...coreArgs, '--config', coreConfig],
    logger,
    starting: (restart) => hub.coreStarting(restart),
    message: (msg) => hub.fromCore(msg),
    down: (text) => hub.coreState('down', text),
    refused: () => void shutdown(2),
    stopIfFirstStartFails: true,
  });
  const hub = new SimHub({
    line: (text) => core.line(text),
    send: (msg: SupervisorMessage) => core.send(msg),
    powerCut: () => core.powerCut(),
    cable,
  });
  const stopFiles = watchSimFiles(simDir, (f) => hub.files(f));
  const web = await startPage(hub, simDir, simPort, logger);
  core.spawn();
  const sats: Satellites | null =
    satellites.length > 0
      ? await startSatellites({
          configs: satellites,
          dataDir: cli.dataDir,
          coreArgs: cli.logLevel ? ['--log-level', cli.logLevel] : [],
          hub,
          logger,
          fork: (o) => new CoreProcess(o),
        })
      : null;
  // Before anything is printed: whoever reads our output and stops us at once must find them.
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  announce(web.url, cable && target ? { target, cable, centralThere: await listening(target) } : null);
  if (stdin) {
    // Ctrl-D at the terminal: the person typing is done, as with Ctrl-C; a piped stdin's end is not
    const end = process.stdin.isTTY ? () => void shutdown(0) : undefined;
    forwardTerminal(process.stdin, core, (text) => process.stderr.write(`${text}\n`), end);
  }

  async function shutdown(code: number): Promise<void> {
    if (stopping) return;
    stopping = true;
    stopFiles();
    await sats?.stop();
    await core.stop();
    await web.close();
    await cable?.close();
    process.exit(code);
  }
}

function printHelp(): void {
  process.stdout.write(
    'npm start: the simulator (this supervisor + the daemon core). Its own options:\n' +
      '  --sim-port <port>  the simulator page on 127.0.0.1 (env BEONHO_SIM_PORT, default 8080; 0: any free port)\n' +
      '  --no-stdin         do not forward this terminal to the core\n' +
      '  --satellite <file> run a satellite of the office (role: satellite) beside it, on the same page; repeatable\n' +
      'Every other option goes to the core:\n\n',
  );
}

/** The person's config, validated as the core validates it, so a mistake names their file, not the
 * copy the core runs with (sim/core-config.yaml), and nothing is written for a config that fails. */
async function checkConfig(file: string | undefined): Promise<void> {
  try {
    await loadConfig(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`beonho: ${err.message}\n`);
    process.exit(2);
  }
}

/** The core's config: the office's, with the uplink (if any) through the simulator cable, whose
 * switch on the page cuts the link to central. A config that cannot be read stops us (exit 2). */
async function prepareCore(
  cli: CliOptions,
): Promise<{ target: UplinkTarget | null; cable: Cable | null; coreConfig: string }> {
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
  return { target, cable, coreConfig };
}

/** The simulator page; a port it cannot take stops us (exit 2). */
function startPage(hub: SimHub, simDir: string, simPort: number, logger: Logger): Promise<SimWeb> {
  return startSimWeb(hub, simDir, simPort, logger).catch((err: Error) => {
    process.stderr.write(`beonho: ${err.message}\n`);
    return process.exit(2);
  });
}

function announce(pageUrl: string, uplink: { target: UplinkTarget; cable: Cable; centralThere: boolean } | null): void {
  process.stdout.write(`beonho simulator page: ${pageUrl}\n`);
  if (!uplink) return;
  process.stdout.write(
    `uplink to central ${uplink.target.host}:${uplink.target.port} through the simulator cable on port ${uplink.cable.port}\n`,
  );
  // Nothing listens there: the uplink's warning at start (uplink-no-connack) follows, so say why
  // and what to do. Not when something does (`npm run demo` starts its central first, or one runs
  // in another terminal): the hint would be false.
  if (!uplink.centralThere)
    process.stdout.write(
      `  (no central listening there: \`npm run central\` in another terminal starts the simulated one; until then the office keeps its events for it)\n`,
    );
}

/** Whether anything takes a TCP connection at the uplink's target (loopback: an answer or a
 * refusal comes at once). Connected and closed without a word of MQTT. */
export function listening(target: UplinkTarget, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    const done = (there: boolean): void => {
      socket.destroy();
      resolve(there);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The person's terminal goes to the core's terminal control, line by line. A line typed while the
 * core is off (a power cut, a restart) has no one to read it: say so, or it is gone without a word. */
export function forwardTerminal(
  input: NodeJS.ReadableStream,
  core: Pick<CoreProcess, 'line'>,
  write: (text: string) => void,
  /** the input ended (Ctrl-D at a terminal) */
  end?: () => void,
): void {
  const rl = readline.createInterface({ input, terminal: false });
  rl.on('line', (line) => {
    if (!core.line(line) && line.trim() !== '')
      write(`the core is off (power cut or restart): "${line.trim()}" was not run; type it again once it is back`);
  });
  if (end) rl.once('close', end);
}

interface CoreProcessOptions {
  /** the module to fork (default: the daemon core, device/main.ts); tests fork a stand-in */
  entry?: string;
  /** the core's command line (device/main.ts) */
  args: string[];
  logger: Logger;
  /** a core is being started; restart: not the first */
  starting: (restart: boolean) => void;
  message: (msg: CoreMessage) => void;
  /** the core died and will be started again; text: what the page shows meanwhile (Korean) */
  down: (text: string) => void;
  /** the core refused its config or data dir (exit 2): restarting would only repeat that */
  refused: () => void;
  /** a core that fails before it was ever ready is refused too: a person is watching the terminal,
   * and what stops a first start (the embedded broker's port taken by a mosquitto, say) is still
   * there a restart later; restarting it every 10 s for ever only repeated the reason */
  stopIfFirstStartFails?: boolean;
  /** each line the core prints, when not straight to our stdout (a satellite's, prefixed) */
  output?: (line: string) => void;
}

/** The daemon core as a child process with an IPC channel, started again whenever it dies: after
 * POWER_OFF_MS when the page cut its power, after a growing backoff when it crashed. */
export class CoreProcess {
  private child: ChildProcess | null = null;
  private stopping = false;
  private backoffMs = 1000;
  private started = 0;
  private everReady = false;

  constructor(private readonly opts: CoreProcessOptions) {}

  /** A line to the core's stdin; false when no core is there to read it. */
  line(text: string): boolean {
    const child = this.child;
    if (!child?.stdin?.writable) return false;
    child.stdin.write(`${text}\n`); // false only means "buffered": the line is still on its way
    return true;
  }

  send(msg: SupervisorMessage): boolean {
    return this.child?.connected ? this.child.send(msg) : false;
  }

  powerCut(): void {
    if (!this.child) return;
    this.opts.logger.warn('power cut: killing the core (SIGKILL)');
    this.child.kill('SIGKILL');
  }

  spawn(): void {
    this.opts.starting(this.started++ > 0);
    const c = fork(this.opts.entry ?? CORE, this.opts.args, {
      env: { ...process.env, BEONHO_SIM_SUPERVISOR: '1' },
      stdio: ['pipe', this.opts.output ? 'pipe' : 'inherit', 'inherit', 'ipc'],
    });
    this.child = c;
    const output = this.opts.output;
    if (output && c.stdout) readline.createInterface({ input: c.stdout }).on('line', output);
    c.on('message', (msg) => {
      const kind = (msg as { kind?: unknown }).kind;
      // a satellite's core says it as satellite-ready
      if (kind === 'ready' || kind === 'satellite-ready') {
        this.backoffMs = 1000;
        this.everReady = true;
      }
      this.opts.message(msg as CoreMessage);
    });
    c.stdin?.on('error', () => {}); // a dying core closes its stdin under our feet
    // A message to a core that has just died (its channel still counted as open: the page's fault
    // switches re-sent at its "ready") fails with EPIPE, and a core that could not be started at
    // all (fork: EAGAIN) says so only here. Unheard, either one ended the supervisor.
    c.on('error', (err) => {
      const started = c.pid !== undefined;
      this.opts.logger.warn(
        { code: 'sim-core-down', err: err.message },
        started ? 'a message or signal to the core failed: it has stopped' : 'the core could not be started',
      );
      // no 'exit' follows a process that never ran: it is started again from here
      if (started || this.child !== c) return;
      this.child = null;
      if (!this.stopping) this.restart(null, null);
    });
    c.on('exit', (code, signal) => {
      if (this.child === c) this.child = null;
      if (!this.stopping) this.restart(code, signal);
    });
  }

  private restart(code: number | null, signal: NodeJS.Signals | null): void {
    if (code === 2) {
      this.opts.logger.error({ code }, 'the core stopped on a problem a person must fix; see above');
      this.opts.refused();
      return;
    }
    if (this.opts.stopIfFirstStartFails && !this.everReady && code !== null && code !== 0) {
      this.opts.logger.error({ code }, 'the core failed to start; see above');
      this.opts.refused();
      return;
    }
    const powerCut = signal === 'SIGKILL';
    this.opts.down(
      powerCut
        ? '전원 차단: 코어가 꺼졌습니다'
        : `코어가 멈췄습니다 (종료 코드 ${code ?? signal ?? '없음: 시작 실패'}); 다시 시작합니다`,
    );
    const wait = powerCut ? POWER_OFF_MS : this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 10_000);
    setTimeout(() => {
      if (!this.stopping) this.spawn();
    }, wait);
  }

  /** SIGTERM, and SIGKILL if the core has not stopped within 10 s; no restart after this. */
  async stop(): Promise<void> {
    this.stopping = true;
    const c = this.child;
    if (!c) return;
    const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }
}

if (isMainModule(import.meta.url)) void main();
