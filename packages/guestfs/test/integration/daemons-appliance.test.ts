// The same client suite against libguestfs's C daemon and the TypeScript daemon, each in its
// appliance (one launch each, TCG here: a few minutes in all).
import { daemonSuite } from '../support/daemon-suite.js';

daemonSuite('c');
daemonSuite('ts');
