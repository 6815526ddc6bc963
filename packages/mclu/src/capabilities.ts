// What a node can run, from its capabilities XML: the guest architecture mclu writes into a
// new domain is the host's own, if the node can run such a guest with the configured
// domain type (kvm or qemu); else a clear error before anything is built.
import type { DomainType } from './config.js';
import { attribute, child, children, parseXml, text } from './xml.js';

export type GuestArchitecture = { arch: string } | { problem: string };

export function guestArchitecture(
  capabilitiesXml: string,
  domainType: DomainType,
): GuestArchitecture {
  const caps = parseXml(capabilitiesXml, 'capabilities');
  const hostArch = text(child(child(child(caps, 'host'), 'cpu'), 'arch'));
  if (hostArch === null) return { problem: 'its capabilities name no host architecture' };
  const hvm = children(caps, 'guest').filter((g) => text(child(g, 'os_type')) === 'hvm');
  const arches = hvm.flatMap((g) => children(g, 'arch'));
  const native = arches.find((a) => attribute(a, 'name') === hostArch);
  const types = children(native, 'domain').map((d) => attribute(d, 'type'));
  if (types.includes(domainType)) return { arch: hostArch };
  const can = arches.flatMap((a) =>
    children(a, 'domain').map(
      (d) => `${attribute(d, 'type') ?? '?'} ${attribute(a, 'name') ?? '?'}`,
    ),
  );
  const hint =
    domainType === 'kvm'
      ? '; without KVM on it, set domain_type = "qemu" (software emulation)'
      : '; install qemu-system on it';
  return {
    problem: `it cannot run ${domainType} guests for its architecture ${hostArch} (it can run: ${can.join(', ') || 'nothing'})${hint}`,
  };
}
