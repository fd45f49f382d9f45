// The resolve hook of node20-crc32.mjs (test only): node:zlib -> zlib-with-crc32.mjs.
const SHIM = new URL('./zlib-with-crc32.mjs', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if ((specifier === 'node:zlib' || specifier === 'zlib') && context.parentURL !== SHIM) {
    return { url: SHIM, shortCircuit: true };
  }
  return next(specifier, context);
}
