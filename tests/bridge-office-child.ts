// A daemon-like child for the crash test: the real queue and store with the bridge's uplink. It
// issues ISSUE tickets (each durable before the next), prints the last seq, then idles until killed.
import { startOffice, testConfig } from './bridge-helpers.ts';

const env = process.env;
const office = await startOffice(
  testConfig({
    broker: { enabled: false },
    uplink: {
      url: env.MQTT_URL,
      username: env.MQTT_USER,
      password: env.MQTT_PASS,
      reconnectMinMs: 50,
      reconnectMaxMs: 300,
    },
  }),
  env.DATA_DIR,
);
const n = Number(env.ISSUE ?? '0');
if (n > 0 && !office.queue.state().open) await office.queue.execute({ type: 'day.open' });
for (let i = 0; i < n; i++) await office.queue.execute({ type: 'ticket.issue', service: 'resident', channel: 'kiosk' });
process.stdout.write(`ready ${office.queue.state().seq}\n`);
setInterval(() => {}, 1000);
