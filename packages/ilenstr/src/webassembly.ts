// The part of the WebAssembly JavaScript API used here, typed. @types/node 20 does not
// declare the WebAssembly global (TypeScript's DOM library does, with the rest of the DOM).
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
export type WasmModule = object;
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
type Imports = Record<string, Record<string, unknown>>;

interface WebAssemblyApi {
  Module: new (code: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Imports) => WasmInstance;
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
}

export const WebAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
