// The features hung off the bus, chosen from config: health, board, printer, audio, MQTT bridge,
// the simulator page. Each module owns its part; this file only picks and orders them.
import { createBridge } from '../bridge/index.ts';
import { createAnnouncerExtension } from '../display/audio/extension.ts';
import { createBoardExtension } from '../display/board-extension.ts';
import { printerFeature } from '../display/printer-extension.ts';
import type { CliOptions } from './cli.ts';
import type { Extension, ExtensionContext } from './extension.ts';
import { createHealthExtension } from './health-extension.ts';
import { type SimPorts, simPageFeatures } from '../sim/ipc-extension.ts';
import type { Store } from './store/store.ts';

export async function buildFeatures(
  ctx: ExtensionContext,
  store: Store,
  _cli: CliOptions,
  /** the controller's simulator ports (controller.sim), for the simulator page's fault switches */
  sim?: SimPorts,
): Promise<Extension[]> {
  // Health first: it must hear every other feature's healthChanged.
  const health = createHealthExtension(ctx, { bytesWritten: () => store.stats().bytesWritten });
  // The printer is the same one the dispenser asks before issuing (printerFeature is one per ctx).
  return [
    health,
    printerFeature(ctx),
    createBoardExtension(ctx),
    createAnnouncerExtension(ctx),
    createBridge(ctx, store.outbox, { deviceHealth: () => health.current() }),
    ...simPageFeatures(ctx, sim),
  ];
}
