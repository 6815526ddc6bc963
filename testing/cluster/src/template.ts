// The test guest as mclu sees it: a template directory holding tiny.template.
import { fileURLToPath } from 'node:url';

/** The directory holding `tiny.template` (an mclu template serving the test guest image). */
export const templatesDir: string = fileURLToPath(new URL('../../templates', import.meta.url));

/** Printed on the guest's serial console (ttyS0): once as `<MARKER> booted` when its init
 *  runs, then as `<MARKER> heartbeat N uptime SECONDS` every 2 seconds while it lives. */
export const GUEST_MARKER = 'TSVIRT-TINY-GUEST';
