// The MQTT bridge as a daemon extension: the embedded broker and the uplink to central, each a
// sink for the retained state, the device status and the events drained from the durable outbox,
// and each a source of commands. See docs/mqtt.md.
import { join } from 'node:path';
import type { IPublishPacket } from 'mqtt';
import type { Extension, ExtensionContext } from '../device/extension.ts';
import type { CommandLog } from '../device/store/command-log.ts';
import type { StoreFs } from '../device/store/fs.ts';
import type { Outbox, OutboxReader } from '../device/store/outbox-types.ts';
import { packageVersion } from '../device/util/build-root.ts';
import { localTime } from '../device/util/time.ts';
import type { DeviceHealth } from '../device/health.ts';
import { healthy } from '../device/ports/health.ts';
import { startBroker, type EmbeddedBroker } from './broker/broker.ts';
import { CommandHandler, type Delivery } from './commands/handler.ts';
import { CommandMemory } from './commands/memory.ts';
import { officeTopics, responseTopic, type Topic } from './contract/topics.ts';
import type { CommandResult } from './contract/types.ts';
import { EventsPublisher } from './publish/events.ts';
import { StatePublisher } from './publish/state.ts';
import { Republisher } from './publish/republish.ts';
import { StatusPublisher, willPayload } from './publish/status.ts';
import { brokerSink, type Sink } from './sink.ts';
import { SessionCounter } from './uplink/session.ts';
import { Uplink } from './uplink/uplink.ts';

export interface Bridge extends Extension {
  /** for tests and the benchmark */
  readonly parts: {
    broker: EmbeddedBroker | null;
    uplink: Uplink | null;
    state: StatePublisher | null;
    events: EventsPublisher[];
    commands: CommandHandler | null;
  };
}

export interface BridgeOptions {
  /** the store's file system: the bridge's own files (command memory, session number) are written
   * through it, durably, like the store's (and the power-cut tests fake it) */
  fs: StoreFs;
  /** the store's command log: every command id of the day and the day before, with its result */
  commands: CommandLog;
  /** the daemon's health collector (HealthExtension.current): the status then carries `system`
   * and the health of components that reported before the bridge started */
  deviceHealth?: () => Promise<DeviceHealth>;
}

export function createBridge(ctx: ExtensionContext, outbox: Outbox, opts: BridgeOptions): Bridge {
  return new MqttBridge(ctx, outbox, opts);
}

type LocalSink = Sink & { open(): void; shut(): void };

/** What the parts share once the bridge's config is read. */
interface Setting {
  office: string;
  device: string;
  topics: ReturnType<typeof officeTopics>;
  logger: ExtensionContext['logger'];
  isoNow: () => string;
  /** an instant as office-local ISO 8601 */
  localIso: (ms: number) => string;
}

class MqttBridge implements Bridge {
  readonly name = 'mqtt';
  readonly parts: Bridge['parts'] = { broker: null, uplink: null, state: null, events: [], commands: null };
  private status: StatusPublisher | null = null;
  private republisher: Republisher | null = null;
  /** empties the `commands` status's senders when the office-local day has changed */
  private newCommandDay: () => void = () => {};
  /** the uplink's health before its first connection (connected: false) */
  private uplinkStarting: (() => void) | null = null;
  private local: LocalSink | null = null;
  private readonly cursors = new Map<Sink, OutboxReader>();
  private readonly sessionOf = new Map<Sink, number>();
  private readonly owner = {};
  /** commands that arrive (a persistent session delivers at once) before the handler exists */
  private handlerReady: () => void = () => undefined;
  private readonly handlerBuilt = new Promise<void>((resolve) => {
    this.handlerReady = resolve;
  });

  constructor(
    private readonly ctx: ExtensionContext,
    private readonly outbox: Outbox,
    private readonly opts: BridgeOptions,
  ) {}

  async start(): Promise<void> {
    try {
      await this.startParts();
    } catch (err) {
      // Leave nothing listening or connecting behind a failed start.
      await this.stop().catch(() => undefined);
      throw err;
    }
  }

  async stop(): Promise<void> {
    const { parts } = this;
    this.ctx.bus.removeListeners(this.owner);
    parts.state?.stop();
    this.republisher?.stop();
    for (const p of parts.events) p.stop();
    // The death half of the presence pair, retained, before the links close.
    await this.status?.offline();
    this.status = null;
    await parts.uplink?.stop();
    parts.uplink = null;
    await parts.broker?.close();
    parts.broker = null;
    await Promise.all([...this.cursors.values()].map((c) => c.flush()));
    this.cursors.clear();
    parts.commands?.close();
  }

  private async startParts(): Promise<void> {
    const { config, logger } = this.ctx;
    if (!config.mqtt.enabled) return;
    const set: Setting = {
      office: config.office.id,
      device: config.device.id,
      topics: officeTopics(config.office.id),
      logger: logger.child({ part: 'mqtt' }),
      isoNow: () => localTime(this.ctx.now(), config.office.timeZone).iso,
      localIso: (ms) => localTime(ms, config.office.timeZone).iso,
    };
    const sessions = new SessionCounter({
      dir: this.ctx.dataDir,
      fs: this.opts.fs,
      logger: set.logger,
      now: this.ctx.now,
    });
    await sessions.load();
    const memory = await this.openMemory(set);
    const sinks: Sink[] = [];
    if (config.mqtt.broker.enabled) sinks.push(await this.startLocalBroker(set, sessions));
    if (config.mqtt.uplink?.enabled) sinks.push(this.createUplink(set, sessions));
    const { state, status } = this.createPublishers(set, sinks);
    // The device status of the senders whose command ids of the day ran out (component
    // `commands`): said when one runs out, again on a later day, and emptied when the office-local
    // day changes (its ids are back); lastError and lastErrorAt stay, as the last failure's.
    const idsPerDay = config.mqtt.commands.idsPerDay;
    const today = (): string => localTime(this.ctx.now(), config.office.timeZone).date;
    let full: { day: string; senders: Set<string>; at: string | null } = { day: today(), senders: new Set(), at: null };
    const reportFull = (): void => {
      this.ctx.bus.emit('healthChanged', {
        component: 'commands',
        health: {
          connected: true,
          lastError: 'command-memory-full',
          lastErrorAt: full.at,
          full: [...full.senders],
          idsPerDay,
        },
      });
    };
    this.newCommandDay = () => {
      const day = today();
      if (day === full.day) return;
      const had = full.senders.size > 0;
      full = { day, senders: new Set(), at: full.at };
      if (had) reportFull();
    };
    this.parts.commands = new CommandHandler({
      office: set.office,
      maxBytes: config.mqtt.commands.maxBytes,
      queue: this.ctx.queue,
      memory,
      logger: set.logger.child({ sink: 'commands' }),
      republish: () => {
        state.now();
        status.now();
      },
      isoNow: set.isoNow,
      idsPerDay,
      onMemoryFull: (origin) => {
        this.newCommandDay();
        if (full.senders.has(origin)) return;
        full.senders.add(origin);
        full.at = set.isoNow();
        reportFull();
      },
    });
    this.handlerReady();
    this.ctx.bus.on('queueEvents', this.owner, () => {
      this.newCommandDay();
      state.request();
      for (const p of this.parts.events) p.kick();
    });
    this.ctx.bus.on('healthChanged', this.owner, ({ component, health }) => status.health(component, health));
    this.local?.open();
    status.start();
    this.republisher = new Republisher({
      intervalSec: config.mqtt.republishSec,
      jobs: [() => this.newCommandDay(), () => state.now(), () => status.now()],
    });
    this.republisher.start();
    // not connected until the first connection works: said at once, not left out of the status
    this.uplinkStarting?.();
    this.parts.uplink?.start();
  }

  private async openMemory(set: Setting): Promise<CommandMemory> {
    const { config, dataDir } = this.ctx;
    const memory = new CommandMemory({
      log: this.opts.commands,
      today: () => localTime(this.ctx.now(), config.office.timeZone).date,
    });
    const imported = await memory.importLegacy(this.opts.fs, join(dataDir, 'mqtt-commands.json'), set.logger);
    if (imported > 0) set.logger.info({ imported }, 'command results of the old memory file moved to the command log');
    return memory;
  }

  /** A command from either link. The link acknowledges it when this resolves: once its result is
   * durable. The result itself is not awaited: the uplink reads no PUBACK (of this result either)
   * before the command is acknowledged, and a result lost with the link is published again when
   * central retries, from the command log. */
  private async onCommand(
    set: Setting,
    sink: Sink,
    payload: Buffer,
    delivery: Delivery,
    packet?: IPublishPacket,
  ): Promise<void> {
    await this.handlerBuilt;
    this.newCommandDay();
    const result = await this.parts.commands!.handle(set.topics.cmd, payload, delivery);
    void publishResult(sink, set.topics.cmdResult, result, packet, set.logger);
  }

  private async startLocalBroker(set: Setting, sessions: SessionCounter): Promise<Sink> {
    const { topics } = set;
    // Its listeners are open before the sink exists: anything that arrives that early waits for
    // the handler, which is built after this sink.
    let local: LocalSink | null = null;
    const sink = async (): Promise<LocalSink> => {
      await this.handlerBuilt;
      return local!;
    };
    const broker = await startBroker(this.ctx.config.mqtt.broker, set.logger, {
      commands: {
        topic: topics.cmd,
        run: async (payload, _clientId, account) =>
          this.onCommand(set, await sink(), payload, {
            source: 'broker',
            ...(account !== undefined ? { origin: `broker:${account}` } : {}),
          }),
        // Refused by the broker's ACL (a satellite's command for a counter not its own, or past its
        // allowance): it changed nothing, so it is not remembered; the satellite sends a new id for
        // its next key. An id that already ran (a satellite repeating a key it sent before) gets
        // its first answer, as a repeated id always does (docs/mqtt.md), not this refusal; a copy
        // still being carried out (on another connection) waits for it, as every copy does.
        refuse: async ({ id, type, code, message }) =>
          publishResult(
            await sink(),
            topics.cmdResult,
            (id !== null ? await this.parts.commands?.firstResult(id, type) : undefined) ?? {
              v: 1,
              id,
              ...(type !== undefined ? { type } : {}),
              ok: false,
              at: set.isoNow(),
              error: { code, message },
            },
            undefined,
            set.logger,
          ),
      },
    });
    this.parts.broker = broker;
    local = brokerSink(broker);
    this.local = local;
    this.sessionOf.set(local, await sessions.next());
    return local;
  }

  private createUplink(set: Setting, sessions: SessionCounter): Uplink {
    const cfg = this.ctx.config.mqtt.uplink!;
    const { bus } = this.ctx;
    const { office, device, topics } = set;
    const uplink = new Uplink({
      cfg,
      clientId: cfg.clientId ?? `beonho-${office}-${device}`,
      cmdTopic: topics.cmd,
      statusTopic: topics.status(device),
      logger: set.logger.child({ sink: 'uplink' }),
      nextSession: () => sessions.next(),
      willPayload: (session) => willPayload(office, device, session),
      onCommand: (topic, payload, packet) =>
        topic === topics.cmd
          ? this.onCommand(set, uplink, payload, { source: 'uplink', retained: packet.retain === true }, packet)
          : Promise.resolve(),
    });
    this.parts.uplink = uplink;
    // The link's own health goes on the bus like any component's (npm run status, device status).
    // Up, or up with its cmd subscription refused by central's ACL (events flow, commands do not).
    // lastError/lastErrorAt are the last failure, kept once the link is back, as every part's are
    // (docs/mqtt.md): a link that dropped at 10:32 and came back says so; `connected` says what holds.
    // With the failure's reason in the client's words (refused, no route, not authorised: the
    // code alone sent the admin to the log).
    type Failure = { lastError: string; lastErrorAt: string; lastErrorReason?: string };
    let lastFailure: Failure | null = null;
    const failed = (code: string, reason: string | null = null): Failure => {
      lastFailure = { lastError: code, lastErrorAt: set.isoNow(), ...(reason ? { lastErrorReason: reason } : {}) };
      return lastFailure;
    };
    const upHealth = (): void => {
      const health = uplink.commandsRefused()
        ? { connected: true, ...failed('uplink-subscribe-failed'), commands: 'refused' }
        : { ...healthy(), ...lastFailure };
      bus.emit('healthChanged', { component: 'mqtt-uplink', health });
    };
    // Down is said once per outage: at a loss, or at the first failed attempt of a link not up
    // since the start (a device started while central is away said nothing of its link until the
    // first connection worked, maybe hours later: npm run status and the status had no mqtt-uplink);
    // again within it only when the reason changes (central's port refused, then its name unknown).
    let downSaid: { reason: string | null } | null = null;
    const down = (): void => {
      const reason = uplink.failureReason();
      if (downSaid && downSaid.reason === reason) return;
      downSaid = { reason };
      bus.emit('healthChanged', {
        component: 'mqtt-uplink',
        health: {
          connected: false,
          ...failed(
            uplink.loginRefused() ? 'uplink-login-refused' : uplink.flapping() ? 'uplink-flapping' : 'uplink-down',
            reason,
          ),
        },
      });
    };
    this.uplinkStarting = () =>
      bus.emit('healthChanged', { component: 'mqtt-uplink', health: { ...healthy(), connected: false } });
    uplink.onConnect(() => {
      downSaid = null;
      bus.emit('linkChanged', { online: true });
      upHealth();
    });
    uplink.onCommandsChanged(upHealth);
    uplink.onDisconnect(() => {
      bus.emit('linkChanged', { online: false });
      down();
    });
    uplink.onAttemptFailed(down);
    return uplink;
  }

  /** One events publisher per link (each with its own outbox cursor), the state and the status. */
  private createPublishers(set: Setting, sinks: Sink[]): { state: StatePublisher; status: StatusPublisher } {
    const cfg = this.ctx.config.mqtt;
    const { topics, logger } = set;
    for (const sink of sinks) {
      const cursor = this.outbox.cursor(sink.name);
      this.cursors.set(sink, cursor);
      this.parts.events.push(
        new EventsPublisher({
          sink,
          cursor,
          topic: topics.events,
          window: cfg.events.window,
          batch: cfg.events.batch,
          logger: logger.child({ sink: sink.name }),
        }),
      );
    }
    const state = new StatePublisher({
      sinks,
      snapshot: () => this.ctx.queue.snapshot(),
      topic: topics.state,
      minIntervalMs: cfg.state.minIntervalMs,
      logger,
    });
    this.parts.state = state;
    const { uplink } = this.parts;
    const status = new StatusPublisher({
      office: set.office,
      device: set.device,
      version: packageVersion(),
      startedAt: set.isoNow(),
      topic: topics.status(set.device),
      isoNow: set.isoNow,
      localIso: set.localIso,
      cursor: (uplink && this.cursors.get(uplink)) ?? (this.local && this.cursors.get(this.local)) ?? null,
      session: (sink) => (sink instanceof Uplink ? sink.session : (this.sessionOf.get(sink) ?? 0)),
      sinks,
      logger,
      intervalSec: cfg.statusIntervalSec,
      ...(this.opts.deviceHealth ? { deviceHealth: this.opts.deviceHealth } : {}),
    });
    this.status = status;
    return { state, status };
  }
}

/** cmd/result always; the MQTT 5 response topic too when the command named one. */
async function publishResult(
  sink: Sink,
  resultTopic: Topic<'cmd/result'>,
  result: CommandResult,
  packet: IPublishPacket | undefined,
  logger: ExtensionContext['logger'],
): Promise<void> {
  const jobs = [sink.publish(resultTopic, result, { qos: 1, retain: false, answer: true })];
  const named = packet?.properties?.responseTopic;
  if (named) {
    // Never let a command make us publish into beonho's topics or a wildcard.
    const extra = responseTopic(named);
    if (!extra) {
      logger.warn(
        { code: 'bad-response-topic', cmdId: result.id },
        'response topic refused; result on cmd/result only',
      );
    } else {
      const correlationData = packet?.properties?.correlationData;
      jobs.push(
        sink.publish(extra, result, {
          qos: 1,
          retain: false,
          answer: true,
          ...(correlationData ? { properties: { correlationData } } : {}),
        }),
      );
    }
  }
  await Promise.all(jobs).catch((err: unknown) => {
    // Central retries with the same id and gets this result from memory.
    logger.warn({ code: 'result-publish-failed', cmdId: result.id, err: String(err) }, 'command result not delivered');
  });
}
