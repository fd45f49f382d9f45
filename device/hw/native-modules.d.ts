// johnny-five ships no types; native.ts types the slice we use (FiveModule).
declare module 'johnny-five';
// serialport 8 ships no types either; only the installer's tool lists ports with it.
declare module 'serialport';
