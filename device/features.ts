// The features hung off the bus, chosen from config: health, board, printer, audio, MQTT bridge,
// the simulator page. Each module owns its part; this file only picks and orders them.
import { createAnnouncerExtension } from '../display/audio/extension.ts';
import type { CliOptions } from './cli.ts';
import type { Extension, ExtensionContext } from './extension.ts';
import { createHealthExtension } from './health-extension.ts';
import type { Store } from './store/store.ts';

export async function buildFeatures(ctx: ExtensionContext, store: Store, _cli: CliOptions): Promise<Extension[]> {
  // Health first: it must hear every other feature's healthChanged.
  const health = createHealthExtension(ctx, { bytesWritten: () => store.stats().bytesWritten });
  return [health, createAnnouncerExtension(ctx)];
}
