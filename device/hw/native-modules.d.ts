// johnny-five ships no types; native.ts types the slice we use (FiveModule).
declare module 'johnny-five';
