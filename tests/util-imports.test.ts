// device/util/ is what every part of the daemon may use (the audio, the broker, the installer):
// its modules import only node's, the packages' and each other, so that a use of one loads no
// other part (the speech guard once loaded the MQTT contract's rules through the log limiter).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const UTIL = join(import.meta.dirname, '..', 'device', 'util');

describe('device/util', () => {
  it('imports nothing of the daemon outside device/util', () => {
    const files = readdirSync(UTIL).filter((f) => f.endsWith('.ts'));
    expect(files).toContain('rate-limited-log.ts');
    const outside: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(UTIL, file), 'utf8');
      for (const m of text.matchAll(/^(?:import|export)\b[^;]*?from '([^']+)'/gms)) {
        if (m[1]!.startsWith('.') && !m[1]!.startsWith('./')) outside.push(`${file}: ${m[1]}`);
      }
    }
    expect(outside).toEqual([]);
  });
});
