// A config that cannot be used: its file, and one line per problem. Apart from the validator
// (load.ts) so that the daemon, which validates in a worker (load-isolated.ts), can name the
// error without loading the validator.

export class ConfigError extends Error {
  readonly code = 'config-invalid';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: ${problems.length} problem(s) in the configuration:\n  ${problems.join('\n  ')}`);
  }
}
