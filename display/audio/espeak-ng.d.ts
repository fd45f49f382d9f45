// The espeak-ng package (Emscripten build of the espeak-ng CLI) ships no types. This is the part
// of Emscripten's module API that display/audio/espeak-voice.ts uses.
declare module 'espeak-ng' {
  interface ESpeakModuleOptions {
    /** the CLI's argv, without the program name */
    arguments: string[];
    /** argv[0] and the `_` of its environment; default: node's process.argv[1] */
    thisProgram?: string;
    print?: (text: string) => void;
    printErr?: (text: string) => void;
    /** called by exit(); the default sets process.exitCode */
    quit?: (status: number, toThrow: unknown) => void;
    instantiateWasm?: (
      imports: WebAssembly.Imports,
      receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
    ) => object;
  }
  interface ESpeakModule {
    FS: {
      readFile(path: string): Uint8Array;
      unlink(path: string): void;
    };
  }
  const ESpeakNg: (options: ESpeakModuleOptions) => Promise<ESpeakModule>;
  export default ESpeakNg;
}
