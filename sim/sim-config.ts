// The config the simulated core runs with: the user's (or the built-in simulator office), with the
// uplink to central re-pointed through the simulator's network cable (sim/cable.ts) so the page can
// cut the line. Only a plain-TCP uplink on loopback goes through the cable; anything else is left
// as it is and the page's link switch is disabled.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { simulatorDefault } from '../device/config/default.ts';
import { isLoopback } from '../bridge/broker/broker.ts';

export interface UplinkTarget {
  host: string;
  port: number;
}

/** The raw (unvalidated) config document: the core validates it and reports problems itself. */
export async function readConfigDoc(file: string | undefined): Promise<Record<string, unknown>> {
  if (!file) return structuredClone(simulatorDefault) as Record<string, unknown>;
  const doc = parseYaml(await readFile(file, 'utf8')) as unknown;
  return doc && typeof doc === 'object' ? (doc as Record<string, unknown>) : {};
}

/** The uplink's broker when it is plain MQTT/TCP on loopback, else null. */
export function cableTarget(doc: Record<string, unknown>): UplinkTarget | null {
  const mqtt = doc.mqtt as { enabled?: boolean; uplink?: { enabled?: boolean; url?: string } } | undefined;
  const up = mqtt?.uplink;
  if (!up?.url || mqtt?.enabled === false || up.enabled === false) return null;
  let url: URL;
  try {
    url = new URL(up.url);
  } catch {
    return null;
  }
  if (url.protocol !== 'mqtt:' && url.protocol !== 'tcp:') return null;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!isLoopback(host)) return null;
  return { host, port: url.port ? Number(url.port) : 1883 };
}

/** Writes <dataDir>/sim/core-config.yaml with the uplink through 127.0.0.1:<cablePort>. */
export async function writeCoreConfig(
  doc: Record<string, unknown>,
  dataDir: string,
  cablePort: number | null,
): Promise<string> {
  const out = structuredClone(doc);
  if (cablePort !== null) {
    const mqtt = out.mqtt as { uplink: { url: string } };
    mqtt.uplink.url = `mqtt://127.0.0.1:${cablePort}`;
  }
  const file = path.join(dataDir, 'sim', 'core-config.yaml');
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(
    file,
    `# Written by the simulator's supervisor at start: the config the core runs with.\n${stringify(out)}`,
  );
  return file;
}
