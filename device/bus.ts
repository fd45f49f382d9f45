// A typed event bus between the queue and the features that hang off it (board, printer, audio,
// MQTT bridge, simulator page). Modelled on zigbee2mqtt's eventBus: `on(name, owner, cb)` and
// `removeListeners(owner)`, so a feature cleans up after itself on stop.
import { EventEmitter } from 'node:events';
import type { QueueEvent } from './queue/types.ts';
import type { ComponentHealth } from './ports/health.ts';

export interface BusEvents {
  /** Events of one queue action, in seq order, emitted only after they are durable on disk. */
  queueEvents: { events: QueueEvent[] };
  /** An action was refused (typed error); nothing changed. Also a keypad entry the keypad itself
   * could tell was wrong (a transfer to a service number the office has not), never sent to the queue. */
  actionRefused: { action: string; source?: string; code: string; message: string };
  /** A hardware component's health changed (connected, error, counters). */
  healthChanged: { component: string; health: ComponentHealth };
  /** A dispenser press that issued no ticket, with the reason shown to the citizen. */
  dispenserRefused: { button: string; code: string; message: string };
  /** The link to central went up or down. */
  linkChanged: { online: boolean };
  /** The store fell back to an older generation or dropped a torn record at start. */
  storeRecovered: { detail: string };
  /** A satellite (device/satellite) received a newer state from the main unit: redraw. */
  snapshotChanged: { seq: number };
  /** A satellite's link to the main unit went up or down. */
  mainLinkChanged: { online: boolean };
  /** A short message on one counter's display: what its keypad's last key did (a satellite). */
  counterMessage: { counter: string; message: string; seconds: number };
}

type Listener<K extends keyof BusEvents> = (payload: BusEvents[K]) => void;

export class Bus {
  private readonly emitter = new EventEmitter();
  private readonly owned = new Map<object, Array<{ name: keyof BusEvents; fn: (...args: unknown[]) => void }>>();

  constructor() {
    this.emitter.setMaxListeners(100);
  }

  emit<K extends keyof BusEvents>(name: K, payload: BusEvents[K]): void {
    this.emitter.emit(name, payload);
  }

  on<K extends keyof BusEvents>(name: K, owner: object, fn: Listener<K>): void {
    // A listener that throws must not break the queue or the other features.
    const wrapped = (payload: BusEvents[K]): void => {
      try {
        fn(payload);
      } catch (err) {
        this.emitter.emit('listenerError', { name, err });
      }
    };
    this.emitter.on(name, wrapped);
    const list = this.owned.get(owner) ?? [];
    list.push({ name, fn: wrapped as (...args: unknown[]) => void });
    this.owned.set(owner, list);
  }

  onListenerError(fn: (info: { name: string; err: unknown }) => void): void {
    this.emitter.on('listenerError', fn);
  }

  removeListeners(owner: object): void {
    for (const { name, fn } of this.owned.get(owner) ?? []) this.emitter.off(name, fn);
    this.owned.delete(owner);
  }
}
