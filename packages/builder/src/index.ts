export { BuilderError, type BuilderErrorCode } from './errors.js';
export {
  buildImage,
  checkBuild,
  defaultCacheDir,
  imageDefinition,
  type BuildEvents,
  type BuildRequest,
  type BuildResult,
} from './build.js';
export {
  checkHostname,
  checkPublicKey,
  defaultPublicKeyFile,
  OPERATION_OPTIONS,
  parseOperations,
  type Operation,
} from './operations.js';
export {
  baseImageName,
  debian12Tree,
  debian12TreeKey,
  debian12TreeName,
  DEBIAN_12_GRUB_DEFAULTS,
  DEBIAN_12_PACKAGES,
  DEBIAN_12_SUITE,
  DEBIAN_12_TREE_FILES,
  FIRSTBOOT_LOG,
  IMAGES,
  stableUuid,
  type ImageDefinition,
} from './debian.js';
export { assembleDisk, layoutDevices, type DiskLayout, type DiskPlan } from './disk.js';
export {
  checkPackageNames,
  DEFAULT_MIRROR,
  finishTree,
  inChroot,
  type TreeFile,
  type TreeFiles,
  type TreeRecipe,
} from './tree.js';
export {
  cached,
  cachedFile,
  copyHashed,
  sha256File,
  useCachedFile,
  type CachedFile,
} from './cache.js';
export { mirrorProblem } from './mirror.js';
