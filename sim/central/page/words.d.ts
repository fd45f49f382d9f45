// Types of ./words.js (a plain browser module, also imported by the tests).
export function waitText(minutes: number): string;
