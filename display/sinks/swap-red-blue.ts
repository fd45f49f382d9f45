// RGBA rows as a 32-bit XRGB framebuffer's bytes (B, G, R, X: the Pi's), sixteen bytes at a time.
//
// Why not Buffer#swap32 alone (framebuffer.ts, packRows): node swaps one 32-bit word at a time,
// and with the copy before it that was ~0.4 ms of a call's ~2 ms on the board here (640 rows,
// bench/display.ts). One WebAssembly SIMD shuffle moves four pixels at once (SSE or NEON under
// V8), and the same pass makes X opaque, so the bytes are convertRows' exactly. The module is the
// function below and nothing else; its bytes are made here from the text form, as no assembler
// belongs among the daemon's dependencies for 60 bytes:
//
//   (module
//     (memory (export "memory") 1)
//     (func (export "toBgrx") (param $n i32) (local $i i32)   ;; bytes [0, n) in place; n % 16 = 0
//       (block $done
//         (loop $next
//           (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
//           (v128.store (local.get $i)
//             (v128.or
//               (i8x16.shuffle 2 1 0 3 6 5 4 7 10 9 8 11 14 13 12 15
//                 (v128.load (local.get $i)) (v128.load (local.get $i)))
//               (v128.const i8x16 0 0 0 255 0 0 0 255 0 0 0 255 0 0 0 255)))
//           (local.set $i (i32.add (local.get $i) (i32.const 16)))
//           (br $next)))))
//
// Where WebAssembly or its SIMD is missing (node --jitless, a CPU V8 runs without it),
// simdSwapper() gives null and the framebuffer keeps to swap32.

const SHUFFLE = [2, 1, 0, 3, 6, 5, 4, 7, 10, 9, 8, 11, 14, 13, 12, 15];
const OPAQUE = [0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255];
const I32 = 0x7f;

/** A section: its id, its size (every one here is under 128 bytes: one LEB128 byte), its body. */
function section(id: number, body: number[]): number[] {
  if (body.length > 127) throw new RangeError(`section ${id} of ${body.length} bytes`);
  return [id, body.length, ...body];
}

function name(s: string): number[] {
  return [s.length, ...Buffer.from(s, 'ascii')];
}

/** The module's binary form (the text above). */
export function swapModuleBytes(): Uint8Array<ArrayBuffer> {
  const getI = [0x20, 0x01];
  const getN = [0x20, 0x00];
  const load = [0xfd, 0x00, 0x00, 0x00]; // v128.load, align 1, offset 0
  // biome-ignore format: one instruction a line
  const code = [
    0x01, 0x01, I32,                        // one local: $i
    0x02, 0x40,                             // block $done
    0x03, 0x40,                             // loop $next
    ...getI, ...getN, 0x4f, 0x0d, 0x01,     // br_if $done (i >= n)
    ...getI,                                // the store's address
    ...getI, ...load, ...getI, ...load,     // the 16 bytes, twice (the shuffle's two operands)
    0xfd, 0x0d, ...SHUFFLE,                 // i8x16.shuffle
    0xfd, 0x0c, ...OPAQUE,                  // v128.const
    0xfd, 0x50,                             // v128.or
    0xfd, 0x0b, 0x00, 0x00,                 // v128.store, align 1, offset 0
    ...getI, 0x41, 0x10, 0x6a, 0x21, 0x01,  // i += 16
    0x0c, 0x00,                             // br $next
    0x0b, 0x0b, 0x0b,                       // end loop, block, function
  ];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...section(1, [0x01, 0x60, 0x01, I32, 0x00]), // one type: (i32) -> ()
    ...section(3, [0x01, 0x00]), // one function, of that type
    ...section(5, [0x01, 0x00, 0x01]), // one memory, one page to start
    ...section(7, [0x02, ...name('memory'), 0x02, 0x00, ...name('toBgrx'), 0x00, 0x00]),
    ...section(10, [0x01, code.length, ...code]),
  ]);
}

/** Turns RGBA rows into B, G, R, 255 rows in its own memory. */
export interface RedBlueSwapper {
  /** The rows converted: a view of the swapper's memory, valid until its next call. Its memory
   * grows to the longest rows given, so callers give a few rows at a time. */
  pack(rgba: Uint8Array): Uint8Array;
}

const PAGE = 65536;

/** The SIMD swapper, or null where WebAssembly SIMD is not there. */
export function simdSwapper(wasm: typeof WebAssembly | null = globalThis.WebAssembly ?? null): RedBlueSwapper | null {
  let instance: WebAssembly.Instance;
  try {
    const bytes = swapModuleBytes();
    if (!wasm?.validate(bytes)) return null;
    instance = new wasm.Instance(new wasm.Module(bytes));
  } catch {
    return null;
  }
  const memory = instance.exports.memory as WebAssembly.Memory;
  const toBgrx = instance.exports.toBgrx as (n: number) => void;
  return {
    pack(rgba: Uint8Array): Uint8Array {
      const n = rgba.length;
      const padded = Math.ceil(n / 16) * 16;
      const have = memory.buffer.byteLength;
      if (have < padded) memory.grow(Math.ceil((padded - have) / PAGE));
      const mem = new Uint8Array(memory.buffer, 0, padded);
      mem.set(rgba);
      toBgrx(padded);
      return mem.subarray(0, n);
    },
  };
}
