// Where the bridge publishes: the embedded broker (in-process) or the uplink to central. The
// publishers depend on this narrow port only, so tests hand them a fake.
//
// A sink takes a contract topic and the payload its kind carries (bridge/contract): a state
// snapshot on an events topic does not compile. Payloads become bytes in one place
// (encodePayload), inside the sink.
import type { Topic, TopicKind } from './contract/topics.ts';
import type { PayloadOf } from './contract/types.ts';
import { encodePayload } from './contract/payload.ts';

export interface PublishOptions {
  qos: 0 | 1;
  retain: boolean;
  /** MQTT 5 properties (uplink only), e.g. correlationData on a response topic */
  properties?: { correlationData?: Buffer };
  /** a command's result: never held behind the broker's Receive Maximum (bridge/uplink/in-flight-gate.ts) */
  answer?: boolean;
}

export interface Sink {
  readonly name: string;
  connected(): boolean;
  /** Resolves when the broker acknowledged (PUBACK for QoS 1); rejects if the link drops first. */
  publish<K extends TopicKind>(topic: Topic<K>, payload: PayloadOf<K>, opts: PublishOptions): Promise<void>;
  /** How many QoS 1 publishes the broker lets this link have unacknowledged at once (MQTT 5's
   * Receive Maximum from its CONNACK); undefined or null: no limit announced. */
  receiveMaximum?(): number | null;
  /** Called on every (re)connect, after the command subscription is in place. */
  onConnect(fn: () => void): void;
  onDisconnect(fn: () => void): void;
}

/** The embedded broker as a sink: always connected while it runs. */
export function brokerSink(broker: {
  publish(topic: string, payload: string, opts: { qos: 0 | 1; retain: boolean }): Promise<void>;
}): Sink & { open(): void; shut(): void } {
  const up: Array<() => void> = [];
  const down: Array<() => void> = [];
  let open = false;
  return {
    name: 'broker',
    connected: () => open,
    publish: (topic, payload, opts) =>
      open
        ? broker.publish(topic, encodePayload(payload), { qos: opts.qos, retain: opts.retain })
        : Promise.reject(new Error('broker closed')),
    onConnect: (fn) => up.push(fn),
    onDisconnect: (fn) => down.push(fn),
    open() {
      open = true;
      for (const fn of up) fn();
    },
    shut() {
      open = false;
      for (const fn of down) fn();
    },
  };
}
