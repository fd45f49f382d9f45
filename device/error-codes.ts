// Every stable code the software emits, by area: in a log line's `code`, in a cmd/result's
// `error.code`, in a component's `lastError` (device status, `npm run status`), in an exit message,
// in the simulator's HTTP answers. One vocabulary: kebab-case, named for what went wrong.
//
// docs/errors.md is the same list for people (where each code appears, what it means, what to do);
// tests/error-codes.test.ts checks the two agree both ways and that no code in the source is
// missing here. A new code goes into the list of its area and into that table.
//
// Pure data: the queue engine imports its type from here and stays free of I/O.
import type { HardwareErrorCode } from './hw/errors.ts';

/** The queue's refusals: an action that changes nothing (cmd/result, logs; the dispenser shows
 * citizens a Korean sentence for some of them). */
export const QUEUE_ERRORS = [
  'unknown-service',
  'unknown-counter',
  'unknown-ticket',
  'day-closed',
  'clock-behind',
  'not-accepting',
  'cutoff-passed',
  'cap-reached',
  'range-exhausted',
  'counter-closed',
  'counter-idle',
  'no-waiting',
  'not-callable',
  'hold-expired',
  'not-cancellable',
  'invalid-transfer',
  'invalid-argument',
  'duplicate-ref',
] as const;
export type QueueErrorCode = (typeof QUEUE_ERRORS)[number];

/** A command from central refused before it reached the queue (bridge/commands). */
export const COMMAND_ERRORS = [
  'too-large',
  'malformed',
  'not-an-object',
  'missing-id',
  'invalid-id',
  'unknown-type',
  'missing-field',
  'unknown-field',
  'invalid-field',
  'personal-data',
  'wrong-office',
  'retained-command',
  'internal-error',
  'foreign-command-id',
  'command-not-allowed',
  'counter-not-bound',
  'rate-limited',
  'command-memory-full',
] as const;
export type CommandErrorCode = (typeof COMMAND_ERRORS)[number];

/** What a cmd/result's `error.code` can be: a validation refusal or the queue's. */
export type CommandResultCode = CommandErrorCode | QueueErrorCode;

/** The MQTT bridge: the embedded broker, the uplink to central, the publishers, command memory. */
export const MQTT_CODES = [
  'broker-demo-exposed',
  'broker-open-listener',
  'broker-listen-failed',
  'broker-no-tls',
  'broker-tls-file',
  'mqtt-rate-answered',
  'broker-plaintext-lan',
  'mqtt-auth-refused',
  'mqtt-publish-denied',
  'mqtt-subscribe-denied',
  'mqtt-auth-throttled',
  'mqtt-client-id-too-long',
  'mqtt-client-id-empty-persistent',
  'mqtt-client-id-taken',
  'mqtt-retained-command',
  'mqtt-packet-too-large',
  'mqtt-malformed-header',
  'mqtt-not-connect-first',
  'mqtt-too-much-before-login',
  'mqtt-too-many-pending',
  'mqtt-pending-evicted',
  'mqtt-status-invalid',
  'mqtt-too-many-connections',
  'mqtt-too-many-sessions',
  'mqtt-too-many-subscriptions',
  'mqtt-publish-rate',
  'mqtt-ws-frame-refused',
  'mqtt-ws-bad-request',
  'mqtt-accept-rate',
  'mqtt-session-queue-full',
  'mqtt-session-expired',
  'mqtt-inflight-full',
  'mqtt-connect-timeout',
  'mqtt-client-too-slow',
  'mqtt-ws-subprotocol-missing',
  'mqtt-ws-origin-refused',
  'mqtt-tls-handshake-failed',
  'uplink-tls-file',
  'uplink-connect-failed',
  'uplink-subscribe-failed',
  'uplink-subscribe-timeout',
  'uplink-error',
  'uplink-mqtt5-refused',
  'uplink-no-connack',
  'uplink-packet-too-large',
  'uplink-password-env-missing',
  'uplink-down',
  'uplink-flapping',
  'uplink-login-refused',
  'uplink-next-node',
  'session-write-failed',
  'session-file-damaged',
  'outbox-read-failed',
  'event-publish-refused',
  'bad-response-topic',
  'result-publish-failed',
  'cmd-id-reused',
  'cmd-repeated',
  'cmd-memory-unreadable',
] as const;
export type MqttCode = (typeof MQTT_CODES)[number];

/** The daemon itself: start-up refusals (exit 2), the store, the health file, systemd. */
export const DAEMON_CODES = [
  'config-invalid',
  'config-worker',
  'config-yaml-warning',
  'config-advice',
  'node-too-old',
  'data-dir-locked',
  'data-dir-unusable',
  'data-dir-full',
  'day-ahead-of-clock',
  'state-too-new',
  'state-other-office',
  'state-unrecoverable',
  'state-recovered',
  'snapshot-failed',
  'command-log-failed',
  'journal-write-failed',
  'clock-unsynchronised',
  'clock-step-ignored',
  'status-write-failed',
  'systemd-notify-failed',
  'watchdog-skipped',
  'stop-timeout',
  'sighup-restart',
  'uncaught-error',
  'unit-outdated',
  'simulated-drivers',
] as const;
export type DaemonCode = (typeof DAEMON_CODES)[number];

/** The input drivers: dispenser buttons (GPIO, Firmata) and counter keypads (HID). */
export const HARDWARE_ERRORS = [
  'hw-config-invalid',
  'gpio-module-unavailable',
  'gpio-not-accessible',
  'gpio-permission',
  'gpio-bad-pin',
  'gpio-busy',
  'gpio-chip-unknown',
  'firmata-module-unavailable',
  'firmata-port-missing',
  'firmata-port-denied',
  'firmata-timeout',
  'firmata-board-lost',
  'firmata-error',
  'hid-module-unavailable',
  'hid-permission',
  'ioctl-module-unavailable',
  'keypad-none-found',
  'keypad-missing',
  'keypad-open-failed',
  'keypad-unplugged',
  'keypad-grab-denied',
  'keypad-grab-busy',
  'keypad-grab-unavailable',
  'keypad-ambiguous',
] as const satisfies readonly HardwareErrorCode[];
// The drivers' own union (device/hw/errors.ts) must be listed here in full.
type _HardwareListed = Exclude<HardwareErrorCode, (typeof HARDWARE_ERRORS)[number]> extends never ? true : never;
export const hardwareListComplete: _HardwareListed = true;

/** The ticket printer (and the ticket's QR link it prints). */
export const PRINTER_ERRORS = [
  'printer-not-open',
  'printer-open-failed',
  'printer-offline',
  'printer-no-answer',
  'printer-paper-out',
  'printer-cover-open',
  'printer-error',
  'printer-write-failed',
  'printer-ticket-secret-missing',
  'printer-ticket-secret-weak',
] as const;
export type PrinterErrorCode = (typeof PRINTER_ERRORS)[number];

/** The number board and counter displays: font, framebuffer, the simulator's PNG. */
export const DISPLAY_ERRORS = [
  'display-font-missing',
  'display-open',
  'display-write',
  'display-fb-sysfs',
  'display-fb-format',
  'display-layout-orientation',
  'display-fb-open',
  'display-fb-closed',
  'display-fb-write',
  'display-frame-size',
  'display-png-write',
  'display-vt-permission',
  'display-vt-unavailable',
] as const;
export type DisplayErrorCode = (typeof DISPLAY_ERRORS)[number];

/** The voice announcements: WAV handling, aplay, espeak-ng, the recorded clip pack. */
export const AUDIO_ERRORS = [
  'wav-invalid',
  'wav-unsupported',
  'wav-rate-mismatch',
  'audio-aplay-missing',
  'audio-device-missing',
  'audio-device-busy',
  'audio-play-failed',
  'audio-play-timeout',
  'audio-sink-closed',
  'audio-sim-write-failed',
  'audio-queue-full',
  'espeak-load-failed',
  'espeak-failed',
  'speech-oom-killed',
  'speech-low-memory',
  'clip-pack-unreadable',
  'clip-missing',
] as const;
export type AudioErrorCode = (typeof AUDIO_ERRORS)[number];

/** The service installer (`npm run install-service`): printed as `error <code>: …`, exit 1. */
export const DEPLOY_ERRORS = [
  'deploy-not-root',
  'deploy-no-systemd',
  'deploy-app-dir',
  'deploy-app-in-home',
  'deploy-app-incomplete',
  'deploy-data-dir',
  'deploy-release-damaged',
  'deploy-release-arch',
  'deploy-release-broken',
  'deploy-node-missing',
  'deploy-node-abi',
  'deploy-config-missing',
  'deploy-config-invalid',
  'deploy-admin-unknown',
  'deploy-role-mismatch',
  'deploy-bad-usb-id',
  'deploy-usb-ids-damaged',
  'deploy-command-failed',
  'deploy-failed',
] as const;
export type DeployErrorCode = (typeof DEPLOY_ERRORS)[number];

/** A satellite unit (device/satellite): its link to the main unit and its counters' keys. The
 * key codes are shown on the counter's display in Korean (device/satellite/messages-ko.ts). */
export const SATELLITE_CODES = [
  'main-link-down',
  'main-link-flapping',
  'main-link-error',
  'main-link-refused',
  'main-link-reset',
  'main-password-env-missing',
  'main-tls-file',
  'main-config-differs',
  'main-state-invalid',
  'main-event-invalid',
  'key-link-down',
  'key-link-lost',
  'key-timeout',
  'key-busy',
  'key-result-invalid',
] as const;
export type SatelliteCode = (typeof SATELLITE_CODES)[number];

/** The simulator's page and the simulated central (HTTP answers and their logs). */
export const SIM_ERRORS = [
  'sim-bad-host',
  'sim-json-only',
  'sim-listen-failed',
  'sim-page-error',
  'sim-unknown-button',
  'sim-unknown-counter',
  'sim-unknown-key',
  'sim-keypad-unplugged',
  'sim-bad-number',
  'sim-bad-transfer',
  'sim-no-cable',
  'sim-cannot-unplug',
  'sim-no-keypads',
  'sim-no-sim-printer',
  'sim-core-down',
  'sim-real-inputs',
  'sim-unknown-satellite',
  'not-found',
  'method-not-allowed',
  'bad-json',
  'too-large',
  'central-accounts-invalid',
  'central-keys-invalid',
  'central-bad-command',
  'central-offline',
  'central-command-timeout',
  'central-command-failed',
  'central-subscribe-failed',
  'central-bad-payload',
  'ticket-link-invalid',
  'ticket-day-over',
  'ticket-office-unknown',
  'alert-bad-phone',
] as const;
export type SimErrorCode = (typeof SIM_ERRORS)[number];

/** Every list, by area, for the docs check. A code may sit in two areas (`too-large`). */
export const CODE_LISTS = {
  queue: QUEUE_ERRORS,
  command: COMMAND_ERRORS,
  mqtt: MQTT_CODES,
  daemon: DAEMON_CODES,
  hardware: HARDWARE_ERRORS,
  printer: PRINTER_ERRORS,
  display: DISPLAY_ERRORS,
  audio: AUDIO_ERRORS,
  deploy: DEPLOY_ERRORS,
  satellite: SATELLITE_CODES,
  sim: SIM_ERRORS,
} as const;
export type ErrorCode = (typeof CODE_LISTS)[keyof typeof CODE_LISTS][number];
