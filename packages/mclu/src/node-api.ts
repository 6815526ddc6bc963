// The part of a libvirt connection that mclu uses: a Pick of @tsvirt/libvirt's
// LibvirtConnection, so the types and libvirt's numbers are that package's own and the list
// is the only thing written here. Unit tests use small fakes of this shape.
import type { LibvirtConnection } from '@tsvirt/libvirt';

export type {
  DomainRef,
  DomainState,
  DomainStatsRecord,
  LibvirtStream,
  StoragePoolRef,
  StorageVolRef,
} from '@tsvirt/libvirt';

export type NodeApi = Pick<
  LibvirtConnection,
  | 'uri'
  | 'close'
  | 'getNodeInfo'
  | 'getCapabilities'
  | 'listAllNetworks'
  | 'getFreeMemory'
  | 'listAllDomains'
  | 'getAllDomainStats'
  | 'lookupDomainByName'
  | 'getDomainInfo'
  | 'getDomainXml'
  | 'defineDomainXml'
  | 'createDomain'
  | 'shutdownDomain'
  | 'rebootDomain'
  | 'destroyDomain'
  | 'undefineDomain'
  | 'getDomainAutostart'
  | 'getDomainInterfaceAddresses'
  | 'migrateToUri3'
  | 'getJobInfo'
  | 'abortDomainJob'
  | 'openConsole'
  | 'listAllStoragePools'
  | 'lookupStoragePoolByTargetPath'
  | 'lookupStoragePoolByName'
  | 'defineStoragePoolXml'
  | 'buildStoragePool'
  | 'createStoragePool'
  | 'setStoragePoolAutostart'
  | 'refreshStoragePool'
  | 'getStoragePoolInfo'
  | 'createStorageVolXml'
  | 'lookupStorageVolByPath'
  | 'lookupStorageVolByName'
  | 'getStorageVolPath'
  | 'getStorageVolInfo'
  | 'storageVolGetInfoFlags'
  | 'deleteStorageVol'
  | 'uploadStorageVol'
  | 'downloadStorageVol'
>;

/** The libvirt error number of an error from the client, if it is a daemon's error reply. */
export function libvirtErrorNumber(error: unknown): number | null {
  if (
    error instanceof Error &&
    'code' in error &&
    typeof error.code === 'number' &&
    'codeName' in error
  )
    return error.code;
  return null;
}
