// The MQTT bridge as a daemon extension: the embedded broker and the uplink to central, each a
// sink for the retained state, the device status and the events drained from the durable outbox,
// and each a source of commands. See docs/mqtt.md.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IPublishPacket } from 'mqtt';
import type { Extension, ExtensionContext } from '../device/extension.ts';
import type { CommandLog } from '../device/store/command-log.ts';
import type { StoreFs } from '../device/store/fs.ts';
import type { Outbox, OutboxReader } from '../device/store/outbox-types.ts';
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

const VERSION = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
      .version;
  } catch {
    return '0.0.0';
  }
})();

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
  const parts: Bridge['parts'] = { broker: null, uplink: null, state: null, events: [], commands: null };
  let status: StatusPublisher | null = null;
  let republisher: Republisher | null = null;
  const cursors = new Map<Sink, OutboxReader>();
  const owner = {};

  const bridge: Bridge = {
    name: 'mqtt',
    parts,
    async start() {
      try {
        await startParts();
      } catch (err) {
        // Leave nothing listening or connecting behind a failed start.
        await bridge.stop().catch(() => undefined);
        throw err;
      }
    },

    async stop() {
      ctx.bus.removeListeners(owner);
      parts.state?.stop();
      republisher?.stop();
      for (const p of parts.events) p.stop();
      // The death half of the presence pair, retained, before the links close.
      await status?.offline();
      status = null;
      await parts.uplink?.stop();
      parts.uplink = null;
      await parts.broker?.close();
      parts.broker = null;
      await Promise.all([...cursors.values()].map((c) => c.flush()));
      cursors.clear();
    },
  };
  return bridge;

  async function startParts(): Promise<void> {
    const { config, logger: rootLogger, bus, queue, dataDir } = ctx;
    const cfg = config.mqtt;
    if (!cfg.enabled) return;
    const logger = rootLogger.child({ part: 'mqtt' });
    const office = config.office.id;
    const device = config.device.id;
    const topics = officeTopics(office);
    const isoNow = () => localTime(ctx.now(), config.office.timeZone).iso;

    const sessions = new SessionCounter({ dir: dataDir, fs: opts.fs });
    await sessions.load();
    const memory = new CommandMemory({
      log: opts.commands,
      today: () => localTime(ctx.now(), config.office.timeZone).date,
    });
    const imported = await memory.importLegacy(opts.fs, join(dataDir, 'mqtt-commands.json'), logger);
    if (imported > 0) logger.info({ imported }, 'command results of the old memory file moved to the command log');

    // Commands from either link, once the handler exists (below). The link acknowledges a command
    // when the promise resolves: once its result is durable.
    let handleCommand:
      | ((sink: Sink, payload: Buffer, delivery: Delivery, packet?: IPublishPacket) => Promise<void>)
      | null = null;
    const waiting: Array<() => void> = [];
    const onCommand = async (
      sink: Sink,
      payload: Buffer,
      delivery: Delivery,
      packet?: IPublishPacket,
    ): Promise<void> => {
      if (!handleCommand) await new Promise<void>((resolve) => waiting.push(resolve));
      await handleCommand!(sink, payload, delivery, packet);
    };

    const sinks: Sink[] = [];
    const sessionOf = new Map<Sink, number>();
    let local: (Sink & { open(): void; shut(): void }) | null = null;
    if (cfg.broker.enabled) {
      const brokerSinkRef: { sink: Sink | null } = { sink: null };
      parts.broker = await startBroker(cfg.broker, logger, {
        commands: {
          topic: topics.cmd,
          run: (payload) => onCommand(brokerSinkRef.sink!, payload, { source: 'broker' }),
          // Refused by the broker's ACL (a satellite's command for a counter not its own): it changed
          // nothing, so it is not remembered; the satellite sends a new id for its next key.
          refuse: ({ id, type, code, message }) =>
            publishResult(
              brokerSinkRef.sink!,
              topics.cmdResult,
              { v: 1, id, ...(type !== undefined ? { type } : {}), ok: false, at: isoNow(), error: { code, message } },
              undefined,
              office,
              logger,
            ),
        },
      });
      local = brokerSink(parts.broker);
      brokerSinkRef.sink = local;
      sinks.push(local);
      sessionOf.set(local, await sessions.next());
    }
    if (cfg.uplink?.enabled) {
      const uplink = new Uplink({
        cfg: cfg.uplink,
        clientId: cfg.uplink.clientId ?? `beonho-${office}-${device}`,
        cmdTopic: topics.cmd,
        statusTopic: topics.status(device),
        logger: logger.child({ sink: 'uplink' }),
        nextSession: () => sessions.next(),
        willPayload: (session) => willPayload(office, device, session),
        onCommand: (topic, payload, packet) =>
          topic === topics.cmd
            ? onCommand(uplink, payload, { source: 'uplink', retained: packet.retain === true }, packet)
            : Promise.resolve(),
      });
      parts.uplink = uplink;
      sinks.push(uplink);
      // The link's own health goes on the bus like any component's (npm run status, device status).
      uplink.onConnect(() => {
        bus.emit('linkChanged', { online: true });
        bus.emit('healthChanged', { component: 'mqtt-uplink', health: healthy() });
      });
      uplink.onDisconnect(() => {
        bus.emit('linkChanged', { online: false });
        bus.emit('healthChanged', {
          component: 'mqtt-uplink',
          health: { connected: false, lastError: 'uplink-down', lastErrorAt: isoNow() },
        });
      });
    }

    for (const sink of sinks) {
      const cursor = outbox.cursor(sink.name);
      cursors.set(sink, cursor);
      parts.events.push(
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
      snapshot: () => queue.snapshot(),
      topic: topics.state,
      minIntervalMs: cfg.state.minIntervalMs,
      logger,
    });
    parts.state = state;
    status = new StatusPublisher({
      office,
      device,
      version: VERSION,
      startedAt: isoNow(),
      topic: topics.status(device),
      isoNow,
      cursor: (parts.uplink && cursors.get(parts.uplink)) ?? (local && cursors.get(local)) ?? null,
      session: (sink) => (sink instanceof Uplink ? sink.session : (sessionOf.get(sink) ?? 0)),
      sinks,
      logger,
      intervalSec: cfg.statusIntervalSec,
      ...(opts.deviceHealth ? { deviceHealth: opts.deviceHealth } : {}),
    });
    const statusRef = status;
    const commands = new CommandHandler({
      office,
      maxBytes: cfg.commands.maxBytes,
      queue,
      memory,
      logger: logger.child({ sink: 'commands' }),
      republish: () => {
        state.now();
        statusRef.now();
      },
      isoNow,
    });
    parts.commands = commands;

    handleCommand = async (sink, payload, delivery, packet) => {
      const result = await commands.handle(topics.cmd, payload, delivery);
      // Not awaited: the link acknowledges the command now that its result is durable, and the
      // uplink reads no PUBACK (of this result either) before it has. A result lost with the link
      // is published again when central retries, from the command log.
      void publishResult(sink, topics.cmdResult, result, packet, office, logger);
    };
    for (const resolve of waiting.splice(0)) resolve();

    bus.on('queueEvents', owner, () => {
      state.request();
      for (const p of parts.events) p.kick();
    });
    bus.on('healthChanged', owner, ({ component, health }) => statusRef.health(component, health));

    local?.open();
    status.start();
    republisher = new Republisher({
      intervalSec: cfg.republishSec,
      jobs: [() => state.now(), () => statusRef.now()],
    });
    republisher.start();
    parts.uplink?.start();
  }
}

/** cmd/result always; the MQTT 5 response topic too when the command named one. */
async function publishResult(
  sink: Sink,
  resultTopic: Topic<'cmd/result'>,
  result: CommandResult,
  packet: IPublishPacket | undefined,
  office: string,
  logger: ExtensionContext['logger'],
): Promise<void> {
  const jobs = [sink.publish(resultTopic, result, { qos: 1, retain: false })];
  const named = packet?.properties?.responseTopic;
  if (named) {
    // Never let a command make us publish into our own contract topics or a wildcard.
    const extra = responseTopic(named, office);
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
