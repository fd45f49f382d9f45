// The features hung off the bus, chosen from config: board, printer, audio, MQTT bridge, the
// simulator page. Each module owns its part; this file only picks and orders them.
import type { CliOptions } from './cli.ts';
import type { Extension, ExtensionContext } from './extension.ts';
import type { Store } from './store/store.ts';

export async function buildFeatures(_ctx: ExtensionContext, _store: Store, _cli: CliOptions): Promise<Extension[]> {
  return [];
}
