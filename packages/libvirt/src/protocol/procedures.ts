/**
 * The procedures of libvirt's remote program that this client calls: number, argument and
 * return layouts, as facts from src/remote/remote_protocol.x. Adding a procedure is one entry
 * here (plus, if it is public, a method in connection.ts).
 */
import {
  type Codec,
  type Infer,
  array,
  fixedArray,
  int,
  opaque,
  optional,
  struct,
  uhyper,
  uint,
  xvoid,
} from '@tsvirt/xdr';
import {
  REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION,
  nonnullDomain,
  nonnullNetwork,
  nonnullStoragePool,
  nonnullStorageVol,
  nonnullString,
  remoteString,
  typedParam,
} from './wire.js';

export interface Procedure<Args, Ret> {
  readonly program: number;
  readonly version: number;
  readonly number: number;
  /** REMOTE_PROC_<name> without the prefix, for error messages. */
  readonly name: string;
  readonly args: Codec<Args>;
  readonly ret: Codec<Ret>;
}

function proc<A, R>(number: number, name: string, args: Codec<A>, ret: Codec<R>): Procedure<A, R> {
  return { program: REMOTE_PROGRAM, version: REMOTE_PROTOCOL_VERSION, number, name, args, ret };
}

// Shorthands for the shapes that recur.
const LIST_MAX = 16384;
const dom = struct('remote_domain_args', { dom: nonnullDomain });
const domFlags = struct('remote_domain_flags_args', { dom: nonnullDomain, flags: uint });
const domRet = struct('remote_domain_ret', { dom: nonnullDomain });
const pool = struct('remote_storage_pool_args', { pool: nonnullStoragePool });
const poolFlags = struct('remote_storage_pool_flags_args', {
  pool: nonnullStoragePool,
  flags: uint,
});
const poolRet = struct('remote_storage_pool_ret', { pool: nonnullStoragePool });
const vol = struct('remote_storage_vol_args', { vol: nonnullStorageVol });
const volRet = struct('remote_storage_vol_ret', { vol: nonnullStorageVol });
const xmlFlags = struct('remote_xml_flags_args', { xml: nonnullString, flags: uint });
const name = struct('remote_name_args', { name: nonnullString });
const listAll = struct('remote_list_all_args', { need_results: int, flags: uint });
const volStreamArgs = struct('remote_storage_vol_transfer_args', {
  vol: nonnullStorageVol,
  offset: uhyper,
  length: uhyper,
  flags: uint,
});

export const domainIpAddr = struct('remote_domain_ip_addr', {
  type: int,
  addr: nonnullString,
  prefix: uint,
});
export const domainInterface = struct('remote_domain_interface', {
  name: nonnullString,
  hwaddr: remoteString,
  addrs: array(domainIpAddr, 2048),
});
export const domainStatsRecord = struct('remote_domain_stats_record', {
  dom: nonnullDomain,
  params: array(typedParam, 262144),
});
export const lifecycleMsg = struct('remote_domain_event_callback_lifecycle_msg', {
  callbackID: int,
  msg: struct('remote_domain_event_lifecycle_msg', { dom: nonnullDomain, event: int, detail: int }),
});
export type LifecycleMsg = Infer<typeof lifecycleMsg>;

export const Proc = {
  connectOpen: proc(
    1,
    'CONNECT_OPEN',
    struct('remote_connect_open_args', { name: remoteString, flags: uint }),
    xvoid,
  ),
  connectClose: proc(2, 'CONNECT_CLOSE', xvoid, xvoid),
  connectGetVersion: proc(
    4,
    'CONNECT_GET_VERSION',
    xvoid,
    struct('remote_connect_get_version_ret', { hv_ver: uhyper }),
  ),
  nodeGetInfo: proc(
    6,
    'NODE_GET_INFO',
    xvoid,
    struct('remote_node_get_info_ret', {
      // char model[32]: rpcgen sends each char as a 4-byte int.
      model: fixedArray(int, 32),
      memory: uhyper,
      cpus: int,
      mhz: int,
      nodes: int,
      sockets: int,
      cores: int,
      threads: int,
    }),
  ),
  connectGetCapabilities: proc(
    7,
    'CONNECT_GET_CAPABILITIES',
    xvoid,
    struct('remote_connect_get_capabilities_ret', { capabilities: nonnullString }),
  ),
  domainDestroy: proc(12, 'DOMAIN_DESTROY', dom, xvoid),
  domainGetXmlDesc: proc(
    14,
    'DOMAIN_GET_XML_DESC',
    domFlags,
    struct('remote_domain_get_xml_desc_ret', { xml: nonnullString }),
  ),
  domainGetAutostart: proc(
    15,
    'DOMAIN_GET_AUTOSTART',
    dom,
    struct('remote_domain_get_autostart_ret', { autostart: int }),
  ),
  domainGetInfo: proc(
    16,
    'DOMAIN_GET_INFO',
    dom,
    struct('remote_domain_get_info_ret', {
      state: uint, // unsigned char, 4 bytes on the wire
      maxMem: uhyper,
      memory: uhyper,
      nrVirtCpu: uint, // unsigned short, 4 bytes on the wire
      cpuTime: uhyper,
    }),
  ),
  domainLookupByName: proc(23, 'DOMAIN_LOOKUP_BY_NAME', name, domRet),
  domainReboot: proc(27, 'DOMAIN_REBOOT', domFlags, xvoid),
  domainSetAutostart: proc(
    29,
    'DOMAIN_SET_AUTOSTART',
    struct('remote_domain_set_autostart_args', { dom: nonnullDomain, autostart: int }),
    xvoid,
  ),
  domainShutdown: proc(33, 'DOMAIN_SHUTDOWN', dom, xvoid),
  connectGetHostname: proc(
    59,
    'CONNECT_GET_HOSTNAME',
    xvoid,
    struct('remote_connect_get_hostname_ret', { hostname: nonnullString }),
  ),
  connectSupportsFeature: proc(
    60,
    'CONNECT_SUPPORTS_FEATURE',
    struct('remote_connect_supports_feature_args', { feature: int }),
    struct('remote_connect_supports_feature_ret', { supported: int }),
  ),
  authList: proc(66, 'AUTH_LIST', xvoid, struct('remote_auth_list_ret', { types: array(int, 20) })),
  authPolkit: proc(70, 'AUTH_POLKIT', xvoid, struct('remote_auth_polkit_ret', { complete: int })),
  storagePoolDefineXml: proc(77, 'STORAGE_POOL_DEFINE_XML', xmlFlags, poolRet),
  storagePoolCreate: proc(78, 'STORAGE_POOL_CREATE', poolFlags, xvoid),
  storagePoolBuild: proc(79, 'STORAGE_POOL_BUILD', poolFlags, xvoid),
  storagePoolDestroy: proc(80, 'STORAGE_POOL_DESTROY', pool, xvoid),
  storagePoolUndefine: proc(82, 'STORAGE_POOL_UNDEFINE', pool, xvoid),
  storagePoolRefresh: proc(83, 'STORAGE_POOL_REFRESH', poolFlags, xvoid),
  storagePoolLookupByName: proc(84, 'STORAGE_POOL_LOOKUP_BY_NAME', name, poolRet),
  storagePoolGetInfo: proc(
    87,
    'STORAGE_POOL_GET_INFO',
    pool,
    struct('remote_storage_pool_get_info_ret', {
      state: uint, // unsigned char
      capacity: uhyper,
      allocation: uhyper,
      available: uhyper,
    }),
  ),
  storagePoolSetAutostart: proc(
    90,
    'STORAGE_POOL_SET_AUTOSTART',
    struct('remote_storage_pool_set_autostart_args', { pool: nonnullStoragePool, autostart: int }),
    xvoid,
  ),
  storageVolCreateXml: proc(
    93,
    'STORAGE_VOL_CREATE_XML',
    struct('remote_storage_vol_create_xml_args', {
      pool: nonnullStoragePool,
      xml: nonnullString,
      flags: uint,
    }),
    volRet,
  ),
  storageVolDelete: proc(
    94,
    'STORAGE_VOL_DELETE',
    struct('remote_storage_vol_delete_args', { vol: nonnullStorageVol, flags: uint }),
    xvoid,
  ),
  storageVolLookupByName: proc(
    95,
    'STORAGE_VOL_LOOKUP_BY_NAME',
    struct('remote_storage_vol_lookup_by_name_args', {
      pool: nonnullStoragePool,
      name: nonnullString,
    }),
    volRet,
  ),
  storageVolLookupByPath: proc(
    97,
    'STORAGE_VOL_LOOKUP_BY_PATH',
    struct('remote_storage_vol_lookup_by_path_args', { path: nonnullString }),
    volRet,
  ),
  storageVolGetInfo: proc(
    98,
    'STORAGE_VOL_GET_INFO',
    vol,
    struct('remote_storage_vol_get_info_ret', { type: int, capacity: uhyper, allocation: uhyper }),
  ),
  storageVolGetPath: proc(
    100,
    'STORAGE_VOL_GET_PATH',
    vol,
    struct('remote_storage_vol_get_path_ret', { name: nonnullString }),
  ),
  nodeGetFreeMemory: proc(
    102,
    'NODE_GET_FREE_MEMORY',
    xvoid,
    struct('remote_node_get_free_memory_ret', { freeMem: uhyper }),
  ),
  connectGetUri: proc(
    110,
    'CONNECT_GET_URI',
    xvoid,
    struct('remote_connect_get_uri_ret', { uri: nonnullString }),
  ),
  domainIsActive: proc(
    150,
    'DOMAIN_IS_ACTIVE',
    dom,
    struct('remote_domain_is_active_ret', { active: int }),
  ),
  connectGetLibVersion: proc(
    157,
    'CONNECT_GET_LIB_VERSION',
    xvoid,
    struct('remote_connect_get_lib_version_ret', { lib_ver: uhyper }),
  ),
  domainGetJobInfo: proc(
    163,
    'DOMAIN_GET_JOB_INFO',
    dom,
    struct('remote_domain_get_job_info_ret', {
      type: int,
      timeElapsed: uhyper,
      timeRemaining: uhyper,
      dataTotal: uhyper,
      dataProcessed: uhyper,
      dataRemaining: uhyper,
      memTotal: uhyper,
      memProcessed: uhyper,
      memRemaining: uhyper,
      fileTotal: uhyper,
      fileProcessed: uhyper,
      fileRemaining: uhyper,
    }),
  ),
  domainAbortJob: proc(164, 'DOMAIN_ABORT_JOB', dom, xvoid),
  domainCreateWithFlags: proc(196, 'DOMAIN_CREATE_WITH_FLAGS', domFlags, domRet),
  domainOpenConsole: proc(
    201,
    'DOMAIN_OPEN_CONSOLE',
    struct('remote_domain_open_console_args', {
      dom: nonnullDomain,
      dev_name: remoteString,
      flags: uint,
    }),
    xvoid,
  ),
  storageVolUpload: proc(208, 'STORAGE_VOL_UPLOAD', volStreamArgs, xvoid),
  storageVolDownload: proc(209, 'STORAGE_VOL_DOWNLOAD', volStreamArgs, xvoid),
  domainGetState: proc(
    212,
    'DOMAIN_GET_STATE',
    domFlags,
    struct('remote_domain_get_state_ret', { state: int, reason: int }),
  ),
  domainUndefineFlags: proc(231, 'DOMAIN_UNDEFINE_FLAGS', domFlags, xvoid),
  domainDestroyFlags: proc(234, 'DOMAIN_DESTROY_FLAGS', domFlags, xvoid),
  domainShutdownFlags: proc(258, 'DOMAIN_SHUTDOWN_FLAGS', domFlags, xvoid),
  connectListAllDomains: proc(
    273,
    'CONNECT_LIST_ALL_DOMAINS',
    listAll,
    struct('remote_connect_list_all_domains_ret', {
      domains: array(nonnullDomain, LIST_MAX),
      ret: uint,
    }),
  ),
  connectListAllStoragePools: proc(
    281,
    'CONNECT_LIST_ALL_STORAGE_POOLS',
    listAll,
    struct('remote_connect_list_all_storage_pools_ret', {
      pools: array(nonnullStoragePool, LIST_MAX),
      ret: uint,
    }),
  ),
  storagePoolListAllVolumes: proc(
    282,
    'STORAGE_POOL_LIST_ALL_VOLUMES',
    struct('remote_storage_pool_list_all_volumes_args', {
      pool: nonnullStoragePool,
      need_results: int,
      flags: uint,
    }),
    struct('remote_storage_pool_list_all_volumes_ret', {
      vols: array(nonnullStorageVol, LIST_MAX),
      ret: uint,
    }),
  ),
  connectListAllNetworks: proc(
    283,
    'CONNECT_LIST_ALL_NETWORKS',
    listAll,
    struct('remote_connect_list_all_networks_ret', {
      nets: array(nonnullNetwork, LIST_MAX),
      ret: uint,
    }),
  ),
  domainMigratePerform3Params: proc(
    305,
    'DOMAIN_MIGRATE_PERFORM3_PARAMS',
    struct('remote_domain_migrate_perform3_params_args', {
      dom: nonnullDomain,
      dconnuri: remoteString,
      params: array(typedParam, 64),
      cookie_in: opaque(4194304),
      flags: uint,
    }),
    struct('remote_domain_migrate_perform3_params_ret', { cookie_out: opaque(4194304) }),
  ),
  connectDomainEventCallbackRegisterAny: proc(
    316,
    'CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY',
    struct('remote_connect_domain_event_callback_register_any_args', {
      eventID: int,
      dom: optional(nonnullDomain),
    }),
    struct('remote_connect_domain_event_callback_register_any_ret', { callbackID: int }),
  ),
  connectDomainEventCallbackDeregisterAny: proc(
    317,
    'CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY',
    struct('remote_connect_domain_event_callback_deregister_any_args', { callbackID: int }),
    xvoid,
  ),
  connectGetAllDomainStats: proc(
    344,
    'CONNECT_GET_ALL_DOMAIN_STATS',
    struct('remote_connect_get_all_domain_stats_args', {
      doms: array(nonnullDomain, LIST_MAX),
      stats: uint,
      flags: uint,
    }),
    struct('remote_connect_get_all_domain_stats_ret', {
      retStats: array(domainStatsRecord, LIST_MAX),
    }),
  ),
  domainDefineXmlFlags: proc(350, 'DOMAIN_DEFINE_XML_FLAGS', xmlFlags, domRet),
  domainInterfaceAddresses: proc(
    353,
    'DOMAIN_INTERFACE_ADDRESSES',
    struct('remote_domain_interface_addresses_args', {
      dom: nonnullDomain,
      source: uint,
      flags: uint,
    }),
    struct('remote_domain_interface_addresses_ret', { ifaces: array(domainInterface, 2048) }),
  ),
  storagePoolLookupByTargetPath: proc(
    391,
    'STORAGE_POOL_LOOKUP_BY_TARGET_PATH',
    struct('remote_storage_pool_lookup_by_target_path_args', { path: nonnullString }),
    poolRet,
  ),
} as const;

/** Asynchronous messages (type MESSAGE) the daemon sends for registered events. */
export const EventProc = {
  DOMAIN_EVENT_CALLBACK_LIFECYCLE: 318,
} as const;

/** Domain event IDs (virDomainEventID). */
export const DomainEventId = { LIFECYCLE: 0 } as const;

/** virDrvFeature values the client asks about in CONNECT_SUPPORTS_FEATURE. */
export const DriverFeature = { PROGRAM_KEEPALIVE: 12, REMOTE_EVENT_CALLBACK: 13 } as const;

/** remote_auth_type */
export const AuthType = { NONE: 0, SASL: 1, POLKIT: 2 } as const;
