/** Why an ilenstr operation was refused. Stable values, safe to switch on. */
export type IlenstrErrorCode =
  | 'ILENSTR_FREED' // the string was freed: using or freeing it again would corrupt the heap
  | 'ILENSTR_OTHER_HEAP' // two strings from different C heaps (separate WebAssembly instances)
  | 'ILENSTR_INNER_NUL' // a checked legacy call got a string with a \0 inside it
  | 'ILENSTR_OUT_OF_MEMORY' // malloc or realloc failed: the heap reached its maximum size
  | 'ILENSTR_BAD_CALL' // an unknown legacy function, or the wrong number of arguments
  | 'ILENSTR_IO' // the C code's write to its stdout failed
  | 'ILENSTR_NOT_BUILT'; // dist/ilenstr.wasm is missing: the C sources were not compiled

export class IlenstrError extends Error {
  override readonly name = 'IlenstrError';
  readonly code: IlenstrErrorCode;

  constructor(code: IlenstrErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
