// What our two MQTT client links share: central's uplink (uplink.ts) and a satellite's link to its
// main unit (device/satellite/link.ts). Each link keeps its own error codes and connect options.
import type { Logger } from 'pino';

type MqttModule = typeof import('mqtt');

/** mqtt.js, loaded when a link first connects. Node's own loader gives its CommonJS exports as named
 * ones (`connect`); the daemon's bundle (scripts/build.ts) gives them under `default` only. */
export async function loadMqtt(): Promise<MqttModule> {
  const m = (await import('mqtt')) as MqttModule & { default?: MqttModule };
  return typeof m.connect === 'function' ? m : (m.default as MqttModule);
}

export interface PasswordConfig {
  password?: string;
  /** name of an environment variable holding the password */
  passwordEnv?: string;
}

/** The password option of a connect: the variable named by passwordEnv when it is set, else the
 * file's password, else none. A named variable that is not set is logged (warn) under the link's
 * own `missingCode`, and the file's password, if any, is used. */
export function passwordOption(
  cfg: PasswordConfig,
  o: { env: NodeJS.ProcessEnv; logger: Logger; missingCode: string },
): { password?: string } {
  if (cfg.passwordEnv) {
    const value = o.env[cfg.passwordEnv];
    if (value !== undefined) return { password: value };
    o.logger.warn({ code: o.missingCode, env: cfg.passwordEnv }, 'password variable not set');
  }
  return cfg.password !== undefined ? { password: cfg.password } : {};
}

/** Exponential backoff with "equal jitter": half fixed, half random (random in [0, 1)), so the
 * clients of one broker do not all reconnect in the same instant after it comes back. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 20));
  return base / 2 + random * (base / 2);
}

/** A URL as logged, or a text holding URLs (a config problem line): any user name and password in
 * them hidden, `mqtt://***@host`. An authority ends at its last `@` (a password may hold one:
 * `mqtt://office:p@ss@central` logs in with `p@ss`, and hiding up to the first `@` logged
 * `ss@central`); `"` ends it in a list shown as JSON. */
export function redactUrl(text: string): string {
  return text.replace(/\/\/[^/?#\s"]*@/g, '//***@');
}

/**
 * A link that drops within FLAP_MS of coming up, again and again: two devices logging in with one
 * client id take the session from each other at the broker (a cloned card, two satellites given
 * one device id), each drop a reconnect within the shortest backoff, for ever. The uplink and the
 * satellite's link each count them here: each reconnect then waits longer, as after failed
 * attempts, and the likely cause is said once, at the FLAPS_TO_SAY-th drop in a row.
 */
export class FlapCounter {
  static readonly FLAP_MS = 10_000;
  static readonly FLAPS_TO_SAY = 3;
  private upAt = 0;
  /** drops in a row, each within FLAP_MS of the link coming up */
  count = 0;

  constructor(
    /** called once a spell, at its FLAPS_TO_SAY-th drop: the link's own words for the likely cause */
    private readonly say: () => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  up(): void {
    this.upAt = this.now();
  }

  /** Counts a drop of a link that was up: the drops in a row so far, 0 when the link had held. */
  dropped(): number {
    this.count = this.now() - this.upAt < FlapCounter.FLAP_MS ? this.count + 1 : 0;
    if (this.count === FlapCounter.FLAPS_TO_SAY) this.say();
    return this.count;
  }

  /** The link keeps dropping right after it is made. */
  flapping(): boolean {
    return this.count >= FlapCounter.FLAPS_TO_SAY;
  }
}

/** The most of a failure's reason the device status carries (its schema's maxLength). */
export const REASON_MAX = 200;

/** A link's failure as the status gives it (`lastErrorReason`): the client's words, credentials in
 * a URL redacted, cut to REASON_MAX (one names the broker's host and a certificate's subject, which
 * central's own admin may set long). */
export function statusReason(reason: string): string {
  const text = redactUrl(reason);
  return text.length > REASON_MAX ? `${text.slice(0, REASON_MAX - 1)}…` : text;
}
