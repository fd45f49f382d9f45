// A daemon-like child for the MQTT benchmark and the bridge's crash test: the real queue and store
// with the bridge's uplink. It issues ISSUE tickets (each durable before the next), prints
// "ready <seq> <peakRssKiB>", then idles until killed. With REPORT_DRAIN=1 it also prints
// "drained <ms> <peakRssKiB>" once the outbox is empty: ms from the uplink connecting to the last
// PUBACK, and its own peak RSS.
import { officeConfig, startOffice } from './office.ts';

const env = process.env;
let connectedAt = 0;
const office = await startOffice(
  officeConfig({
    broker: { enabled: false },
    ...(env.WINDOW ? { events: { window: Number(env.WINDOW) } } : {}),
    uplink: {
      url: env.MQTT_URL,
      username: env.MQTT_USER,
      password: env.MQTT_PASS,
      reconnectMinMs: 10,
      reconnectMaxMs: 300,
    },
  }),
  env.DATA_DIR,
);
office.bus.on('linkChanged', {}, ({ online }) => {
  if (online && connectedAt === 0) connectedAt = performance.now();
});
const n = Number(env.ISSUE ?? '0');
if (n > 0 && !office.queue.state().open) await office.queue.execute({ type: 'day.open' });
for (let i = 0; i < n; i++) await office.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
process.stdout.write(`ready ${office.queue.state().seq} ${process.resourceUsage().maxRSS}\n`);
if (env.REPORT_DRAIN) {
  while (connectedAt === 0) await new Promise((r) => setTimeout(r, 5));
  await Promise.all(office.bridge.parts.events.map((p) => p.whenIdle()));
  const ms = performance.now() - connectedAt;
  process.stdout.write(`drained ${Math.round(ms)} ${process.resourceUsage().maxRSS}\n`);
}
setInterval(() => {}, 1000);
