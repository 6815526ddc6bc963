export * from './protocol/procedures.generated.js';
export type { FileInSource, FileOutTarget, ProcedureInfo } from './protocol/procedure.js';
export type { CallOptions, Progress } from './rpc/session.js';
export { GuestfsHandle } from './handle.js';
export { Guestfs } from './guestfs.js';
export * from './errors.js';
export { launch, type LaunchOptions } from './launch/launch.js';
export { applianceDevice, type Drive } from './launch/drives.js';
export type { AccelMode } from './launch/accel.js';
export {
  findAppliance,
  applianceCacheDir,
  type Appliance,
  type DaemonChoice,
} from './launch/appliance.js';
export {
  inspect,
  withMounted,
  parseDpkgStatus,
  osinfo,
  type InspectedOs,
  type InspectedFilesystem,
  type Application,
} from './inspect.js';
