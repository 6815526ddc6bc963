export {
  clusterHealth,
  listClusters,
  openCluster,
  startCluster,
  stopCluster,
  type Cluster,
  type ClusterNode,
  type ClusterOptions,
} from './cluster.js';
export { ClusterError, type ClusterErrorCode } from './errors.js';
export { exec, execChecked, type ExecOptions, type ExecResult } from './exec.js';
export type { ClusterProcess } from './processes.js';
export { ensureGuestImage, GUEST_IMAGE_LINK } from './guest-image.js';
export { serialLogName, tinyGuestXml, type TinyGuestOptions } from './guest.js';
export { STATE_ROOT } from './paths.js';
export { GUEST_MARKER, templatesDir } from './template.js';
export {
  ACCEL_ENV,
  describeAccel,
  machineDomainType,
  type AccelChoice,
  type AccelMode,
  type DomainType,
} from './accel.js';
export {
  bootGuest,
  kvmUsable,
  probeKvm,
  type BootResult,
  type KvmProbeResult,
} from './kvm-probe.js';
