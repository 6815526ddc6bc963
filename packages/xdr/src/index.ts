export { XdrError, type XdrErrorCode } from './errors.js';
export { XdrReader } from './reader.js';
export { XdrWriter } from './writer.js';
export {
  type Codec,
  type Infer,
  type UnionValue,
  xvoid,
  int,
  uint,
  hyper,
  uhyper,
  float,
  double,
  bool,
  enumeration,
  fixedOpaque,
  opaque,
  string,
  fixedArray,
  array,
  optional,
  struct,
  union,
  mapped,
  encode,
  decode,
} from './codec.js';
