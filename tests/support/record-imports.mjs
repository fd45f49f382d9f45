// Loaded with `node --import` before the program: writes every module URL the program resolved, one
// per line, to the file named by RECORD_IMPORTS when it exits (tests of what an entry point loads).
import { writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const seen = [];
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => seen.push(url));
port1.unref();
register(
  `data:text/javascript,${encodeURIComponent(`
    let port;
    export function initialize(data) { port = data.port; }
    export async function resolve(specifier, context, next) {
      const r = await next(specifier, context);
      port.postMessage(r.url);
      return r;
    }`)}`,
  { data: { port: port2 }, transferList: [port2] },
);
process.on('exit', () => writeFileSync(process.env.RECORD_IMPORTS, seen.join('\n')));
