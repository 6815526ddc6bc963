// @tsvirt/mclu: the Mini Cloud as a library. The command line (src/cli) is a thin layer
// over these functions; other tools may call them directly.
export {
  McluError,
  ConfigError,
  UsageError,
  NodeError,
  GuestError,
  TemplateError,
  OperationError,
} from './errors.js';
export { parseSize, formatSize, SIZE_RULE } from './size.js';
export { checkGuestName, GUEST_NAME_RULE } from './names.js';
export { distrust, readTrustedFile, UntrustedFileError } from './trust.js';
export { sshOptions, controlDir, CONTROL_PERSIST_SECONDS } from './ssh.js';
export {
  UndoStack,
  describeUndo,
  describeLeftovers,
  type UndoEntry,
  type UndoReport,
  type Leftover,
} from './undo.js';
export { claimName, removeDefinitionIfOurs } from './claim.js';
export { checkBootNode, networkProblem } from './preflight.js';
export { guestArchitecture } from './capabilities.js';
export {
  loadConfig,
  parseConfig,
  configCandidates,
  type McluConfig,
  type Defaults,
  type NodeConfig,
  type DomainType,
} from './config.js';
export {
  Cluster,
  configuredNode,
  type Connector,
  type NodeSession,
  type OnlineSession,
} from './cluster.js';
export { libvirtConnector } from './libvirt-connector.js';
export {
  clusterStatus,
  listGuests,
  nodeStatus,
  nodeGuests,
  type NodeStatus,
  type GuestSummary,
  type GuestListing,
} from './status.js';
export {
  findGuest,
  findGuests,
  parseGuestSpec,
  lifecycle,
  waitForState,
  guestInfo,
  deleteGuest,
  findLoneVolumes,
  deleteLoneVolumes,
  type LoneVolume,
  type GuestLocation,
  type GuestInfo,
  type LifecycleAction,
  type DeleteResult,
} from './guests.js';
export {
  bootGuest,
  prepareBoot,
  choosePlacement,
  type PreparedBoot,
  type OperationControl,
  type BootRequest,
  type BootResult,
  type BootEvents,
} from './boot.js';
export {
  migrateGuest,
  LIVE_MIGRATION_FLAGS,
  type MigrateResult,
  type MigrateEvents,
} from './migrate.js';
export {
  findTemplates,
  findTemplate,
  queryTemplate,
  buildDisk,
  templateSearchPath,
  type Template,
  type TemplateAnswers,
} from './templates.js';
export {
  domainXml,
  parseDomainXml,
  withDiskPaths,
  type NewDomain,
  type ParsedDomain,
} from './domain-xml.js';
export {
  ensureImagesPool,
  uploadFile,
  copyStream,
  IMAGES_POOL_NAME,
  type ProgressCallback,
} from './storage.js';
export { magicPacket, wakeNode } from './wol.js';
export { powerOffNode } from './power.js';
export { viewerCommand } from './viewer.js';
export type { NodeApi } from './node-api.js';
