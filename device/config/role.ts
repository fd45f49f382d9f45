// Which daemon a config builds. Apart from the schema (schema.ts) so the daemon can ask without
// loading zod.
import type { Config, SatelliteConfig } from './schema.ts';

export function isSatellite(config: Config): config is SatelliteConfig {
  return config.role === 'satellite' && config.satellite !== undefined;
}
