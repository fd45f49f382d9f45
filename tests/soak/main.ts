// `npm run soak -- --cuts N [--seed S] [--keep]`: the power-cut soak (docs/soak.md). Exit code 0
// when the oracle found nothing, 1 when it found a violation, 2 for a bad command line or a
// harness that could not run (no mosquitto).
import { Command, InvalidArgumentError, Option } from 'commander';
import { cutAll } from './daemon.ts';
import { stopAllMosquittos } from '../../bench/lib/mosquitto.ts';
import { DEFAULTS, formatReport, runSoak } from './soak.ts';

function int(min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return n;
  };
}
function num(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number >= 0');
  return n;
}

const program = new Command()
  .name('soak')
  .description("Cut the real daemon's power N times while central issues online tickets through a real mosquitto.")
  .requiredOption('--cuts <n>', 'power cuts', int(1))
  .option('--seed <s>', 'seed of the plan and the traffic (default: random, printed)', int(0))
  .option('--keep', 'keep the work dir (data dir, daemon and broker logs)', false)
  .option('--rate <n>', 'central commands per second', num, DEFAULTS.rate)
  .option('--kiosk-rate <n>', 'kiosk presses per second (terminal)', num, DEFAULTS.kioskRate)
  .option(
    '--retry-ms <ms>',
    "central's first retry of an unanswered command (0: never retry)",
    int(0),
    DEFAULTS.retryMs,
  )
  .option('--max-run-ms <ms>', 'longest run before a plain cut', int(100), DEFAULTS.maxRunMs)
  .option('--settle-ms <ms>', 'final wait for every result and event', int(1000), DEFAULTS.settleMs)
  .option('--snapshot-every <n>', 'store.snapshotEvery of the soak office', int(10), DEFAULTS.snapshotEvery)
  .addOption(
    new Option('--faketime <mode>', 'midnight cuts with libfaketime')
      .choices(['auto', 'required', 'off'])
      .default('auto'),
  )
  .option('--log-level <level>', "the daemon's log level (its log is kept with --keep)", DEFAULTS.logLevel)
  .option('--json <file>', 'also write the report as JSON')
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
program.parse(process.argv);
const a = program.opts<{
  cuts: number;
  seed?: number;
  keep: boolean;
  rate: number;
  kioskRate: number;
  retryMs: number;
  maxRunMs: number;
  settleMs: number;
  snapshotEvery: number;
  faketime: 'auto' | 'required' | 'off';
  logLevel: string;
  json?: string;
}>();

for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    cutAll();
    stopAllMosquittos();
    process.exit(130);
  });

const seed = a.seed ?? Math.floor(Math.random() * 2 ** 31);
try {
  const report = await runSoak({
    cuts: a.cuts,
    seed,
    keep: a.keep,
    rate: a.rate,
    kioskRate: a.kioskRate,
    retryMs: a.retryMs,
    maxRunMs: a.maxRunMs,
    settleMs: a.settleMs,
    snapshotEvery: a.snapshotEvery,
    faketime: a.faketime,
    logLevel: a.logLevel,
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${formatReport(report)}\n`);
  if (a.json) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(a.json, `${JSON.stringify(report, null, 2)}\n`);
  }
  process.exit(report.violations.length === 0 ? 0 : 1);
} catch (err) {
  process.stderr.write(`soak: ${(err as Error).message}\n`);
  process.exit(2);
}
