// Settings of the outputs: board, printer, audio, ticket QR. Owned by display/.
import { z } from 'zod';

export const outputsSchema = z.strictObject({
  board: z.strictObject({ driver: z.enum(['sim']).default('sim') }).prefault({}),
  printer: z.strictObject({ driver: z.enum(['sim']).default('sim') }).prefault({}),
  audio: z.strictObject({ driver: z.enum(['sim']).default('sim') }).prefault({}),
});
export type OutputsConfig = z.infer<typeof outputsSchema>;
