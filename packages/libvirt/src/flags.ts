/**
 * How flags and enumerations are typed, and the package's earlier short names for the
 * generated enumerations (constants.generated.ts has every one, named after the C type).
 */
import {
  ConnectGetAllDomainStatsFlags,
  ConnectListAllDomainsFlags,
  ConnectListAllNetworksFlags,
  DomainConsoleFlags,
  DomainInterfaceAddressesSource,
  DomainMigrateFlags,
  DomainRebootFlagValues,
  DomainUndefineFlagsValues,
} from './constants.generated.js';

/**
 * A bitwise OR of an enumeration's flags, e.g. `Flags<DomainXmlFlags>` takes
 * `DomainXmlFlags.SECURE | DomainXmlFlags.INACTIVE`. Any number is accepted (an OR of members
 * is a number to TypeScript, and newer daemons know flags this package does not); the type
 * names the enumeration for the reader and the editor.
 */
// `number & {}` keeps the members' names visible in editors instead of collapsing to number.
export type Flags<E extends number = never> = E | (number & {});

/** A value of a libvirt enumeration from the daemon: a known member, or from a newer daemon another number. */
export type EnumValue<E extends number> = E | (number & {});

/** virConnectListAllDomainsFlags */
export const ListDomainsFlags = ConnectListAllDomainsFlags;
/** virConnectGetAllDomainStatsFlags */
export const GetAllDomainStatsFlags = ConnectGetAllDomainStatsFlags;
/** virDomainUndefineFlagsValues */
export const UndefineFlags = DomainUndefineFlagsValues;
/** virDomainMigrateFlags */
export const MigrateFlags = DomainMigrateFlags;
/** virDomainRebootFlagValues */
export const RebootFlags = DomainRebootFlagValues;
/** virDomainConsoleFlags */
export const ConsoleFlags = DomainConsoleFlags;
/** virConnectListAllNetworksFlags */
export const ListNetworksFlags = ConnectListAllNetworksFlags;

/** virDomainInterfaceAddressesSource by the names getDomainInterfaceAddresses takes. */
export const InterfaceAddressesSource = {
  lease: DomainInterfaceAddressesSource.LEASE,
  agent: DomainInterfaceAddressesSource.AGENT,
  arp: DomainInterfaceAddressesSource.ARP,
} as const;
