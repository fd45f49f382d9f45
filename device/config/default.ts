// The simulator's built-in office, used when no config file is given: a dong community centre
// with four services, a priority button and four counters.
import type { ConfigInput } from './schema.ts';

export const simulatorDefault: ConfigInput = {
  office: { id: 'singok2', name: '신곡2동 행정복지센터', timeZone: 'Asia/Seoul' },
  device: { id: 'main' },
  services: [
    { id: 'resident', name: '주민등록', numbers: { from: 1001, to: 1999 }, avgMinutes: 4 },
    { id: 'passport', name: '여권', numbers: { from: 2001, to: 2999 }, avgMinutes: 8, cap: 150 },
    { id: 'seal', name: '인감/제증명', numbers: { from: 3001, to: 3999 }, avgMinutes: 3 },
    { id: 'welfare', name: '복지', numbers: { from: 4001, to: 4999 }, avgMinutes: 12 },
  ],
  counters: [
    { id: '1', name: '1번 창구', services: ['resident', 'seal'] },
    { id: '2', name: '2번 창구', services: ['resident', 'seal'] },
    { id: '3', name: '3번 창구', services: ['passport', 'resident'] },
    { id: '4', name: '4번 창구', services: ['welfare'] },
  ],
  policy: { priority: 'first', noShowHoldMinutes: 30, near: [10, 3, 1] },
  dispenser: {
    buttons: [
      { id: 'resident', service: 'resident', label: '주민등록' },
      { id: 'passport', service: 'passport', label: '여권' },
      { id: 'seal', service: 'seal', label: '인감/제증명' },
      { id: 'welfare', service: 'welfare', label: '복지' },
      { id: 'priority', service: 'resident', priority: true, label: '교통약자 우선' },
    ],
  },
  // The ticket's QR code links to the simulated central's QR page (`npm run central`, port 8090;
  // both sign and check with the demo ticket secret).
  outputs: { printer: { ticketUrl: 'http://127.0.0.1:8090/q/{office}/{day}/{number}?t={token}' } },
  // The simulator uplinks to the simulated central (`npm run central`) on loopback; when central
  // is not running the uplink just retries and the outbox keeps the events. The embedded broker
  // accepts the demo account central/central (loopback only).
  mqtt: {
    broker: { demo: true },
    uplink: {
      url: 'mqtt://127.0.0.1:1884',
      username: 'singok2',
      password: 'singok2-uplink',
      // aedes speaks MQTT 3.1.1: skip the MQTT 5 attempt
      protocolVersion: 4,
      reconnectMinMs: 500,
      reconnectMaxMs: 5000,
    },
  },
};
