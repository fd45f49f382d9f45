// Settings of the input hardware (dispenser buttons, counter keypads). Owned by the drivers.
// With nothing configured the simulator's ports are used.
import { z } from 'zod';

export const hardwareSchema = z.strictObject({
  /** "sim" uses the simulated ports; real drivers are added per input below */
  buttons: z.strictObject({ driver: z.enum(['sim']).default('sim') }).prefault({}),
  keypads: z.strictObject({ driver: z.enum(['sim']).default('sim') }).prefault({}),
});
export type HardwareConfig = z.infer<typeof hardwareSchema>;
