// Structured JSON logs (pino), pretty when a person watches a terminal. Every line carries the
// office and device, so a central log collector can tell 15 offices apart.
import { pino, type Logger } from 'pino';

export function createLogger(opts: { office?: string; device?: string; level?: string; pretty?: boolean }): Logger {
  const pretty = opts.pretty ?? (process.stdout.isTTY === true && process.env.BEONHO_LOG_FORMAT !== 'json');
  return pino(
    {
      level: opts.level ?? process.env.BEONHO_LOG_LEVEL ?? 'info',
      base: { office: opts.office, device: opts.device },
      redact: { paths: ['password', '*.password', 'ref', '*.ref'], censor: '[redacted]' },
      ...(pretty ? { transport: { target: 'pino-pretty', options: { destination: 2, ignore: 'pid,hostname' } } } : {}),
    },
    pretty ? undefined : pino.destination(2),
  );
}
