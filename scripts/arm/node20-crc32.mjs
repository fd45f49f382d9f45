// Test-only shim for `npm run test:arm` on armhf, loaded with `node --import`: the only Node for
// armv7l on the npm registry is 20.11.0, older than zlib.crc32 (Node 20.15 / 22.2), which the
// store uses. A resolve hook hands `node:zlib` imports a module that re-exports node:zlib plus a
// crc32. A Pi runs a Node that has crc32 (Debian trixie's 20.19, NodeSource 20.x), and the
// installer's start check refuses one that does not; nothing in a release loads this file.
import { register } from 'node:module';
import zlib from 'node:zlib';

if (typeof zlib.crc32 !== 'function') register('./node20-crc32-hook.mjs', import.meta.url);
