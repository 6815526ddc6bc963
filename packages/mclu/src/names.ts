// Guest names: checked before anything is asked or built, because a name becomes a libvirt
// domain name, a volume file name (NAME.qcow2), a log file name and often a host name.
import { UsageError } from './errors.js';

const GUEST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,62}$/;

export const GUEST_NAME_RULE =
  'a guest name is 1 to 63 characters: letters, digits, ".", "_", "+" and "-", starting with a letter or digit';

export function checkGuestName(name: string): void {
  if (GUEST_NAME.test(name)) return;
  const shown =
    name.length > 70
      ? `${JSON.stringify(name.slice(0, 60))}... (${name.length} characters)`
      : JSON.stringify(name);
  throw new UsageError(`invalid guest name ${shown}: ${GUEST_NAME_RULE}`);
}
