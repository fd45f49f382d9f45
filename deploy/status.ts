// `npm run status`: the device's health for a person on site; `npm run -s status -- --json` for a
// script (-s: npm's banner would come before the JSON). Exit code 0 when the daemon wrote its
// status recently, 2 when it did not (stale or missing), so a script can check too.
import { execFile } from 'node:child_process';
import { Command as Cli } from 'commander';
import { CONFIG_FILE, DATA_DIR, RUNTIME_DIR, UNIT_NAME } from './paths.ts';
import { gatherStatus, renderStatus, statusJson } from './status-report.ts';

function serviceState(): Promise<string> {
  return new Promise((resolve) => {
    execFile('systemctl', ['is-active', UNIT_NAME], { timeout: 5000 }, (err, stdout) => {
      const state = stdout.trim();
      resolve(state || (err ? 'unknown (no systemd here)' : 'unknown'));
    });
  });
}

const cli = new Cli('beonho-status')
  .description("print the device's health: the daemon's last status plus live disk and temperature")
  .option('--json', 'print JSON instead of a table (from npm: npm run -s status -- --json)')
  .option('--data-dir <dir>', 'the data dir', process.env.BEONHO_DATA_DIR ?? DATA_DIR)
  .option('--run-dir <dir>', 'the runtime dir where the daemon writes status.json', RUNTIME_DIR)
  .option('--config <file>', 'the installed config, for the drivers it names', CONFIG_FILE)
  .action(async (o: { json?: boolean; dataDir: string; runDir: string; config: string }) => {
    const report = await gatherStatus({ dirs: [o.runDir, o.dataDir], dataDir: o.dataDir, configFile: o.config });
    report.service = await serviceState();
    process.stdout.write(o.json ? statusJson(report) : renderStatus(report));
    process.exitCode = report.stale ? 2 : 0;
  });

await cli.parseAsync(process.argv);
