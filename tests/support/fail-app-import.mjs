// Loaded with `node --import` before the daemon's entry: the daemon's composition root cannot be
// loaded (as in a damaged install), to test what the entry point reports then.
import { register } from 'node:module';

register(
  `data:text/javascript,${encodeURIComponent(`
    export async function resolve(specifier, context, next) {
      const r = await next(specifier, context);
      if (r.url.endsWith('/device/app.ts')) throw new Error('app.ts cannot be loaded (tests/support/fail-app-import.mjs)');
      return r;
    }`)}`,
);
