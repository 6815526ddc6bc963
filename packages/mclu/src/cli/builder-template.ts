// `check` and `build` of the templates mclu ships (templates/*.template): the guest's disk
// from @tsvirt/builder's image named by `base_image`, customised as mclu asks. The
// environment is mclu's template protocol (name, format, output, size, base_image,
// ssh_key); the arguments after the verb are virt-customize options, applied after the
// guest's host name and the user's key, in their order. A refusal is one line on stderr
// and exit status 1, before anything is built.
import {
  buildImage,
  BuilderError,
  checkBuild,
  parseOperations,
  type BuildRequest,
} from '@tsvirt/builder';
import { messageOf } from '../errors.js';

/** What the template lets mclu's users pass (the rest of virt-customize is refused). */
const MCLU_OPTIONS = ['--install', '--run-command', '--firstboot-command', '--timezone'];

function fail(message: string): never {
  throw new BuilderError('BAD_REQUEST', message);
}

function request(env: NodeJS.ProcessEnv, customizations: readonly string[]): BuildRequest {
  const image = env['base_image'] || fail('no base_image in the environment (run by mclu?)');
  const name = env['name'] || fail('no name in the environment (run by mclu?)');
  const format = env['format'] ?? 'qcow2';
  if (format !== 'qcow2' && format !== 'raw') fail(`format ${format}: qcow2 or raw`);
  const key =
    env['ssh_key'] ||
    fail(
      `no ssh public key to let you log into ${name}: set [defaults] ssh_key in mclu.conf to your public key file (e.g. "~/.ssh/id_ed25519.pub"), or make one with ssh-keygen (the newest ~/.ssh/id*.pub is used)`,
    );
  // mclu passes them as pairs, option then value; joined with "=", a value may start with "-".
  const options: string[] = [];
  for (let i = 0; i < customizations.length; i += 2) {
    const option = customizations[i] ?? '';
    if (!MCLU_OPTIONS.includes(option))
      fail(`${option}: not an option of this template (it takes ${MCLU_OPTIONS.join(', ')})`);
    options.push(`${option}=${customizations[i + 1] ?? ''}`);
  }
  let operations;
  try {
    operations = parseOperations([
      '--hostname',
      name,
      '--ssh-inject',
      `root:string:${key}`,
      ...options,
    ]);
  } catch (error) {
    // A guest name that is no host name: say it in mclu's terms.
    if (messageOf(error).startsWith('--hostname'))
      fail(
        `the guest name ${name} is not a valid host name for the guest (${messageOf(error).replace(/^[^:]*: /, '')}); choose another name`,
      );
    throw error;
  }
  const size = env['size'];
  if (size !== undefined && !/^\d+$/.test(size)) fail(`size ${size}: a number of bytes`);
  return {
    image,
    output: env['output'] ?? '',
    format,
    sizeBytes: size === undefined ? undefined : BigInt(size),
    operations,
  };
}

async function main(verb: string | undefined, args: string[]): Promise<void> {
  const build = request(process.env, args);
  if (verb === 'check') {
    await checkBuild(build);
    return;
  }
  if (build.output === '') fail('no output in the environment (run by mclu?)');
  // mclu stops a build by SIGTERM to the template's process group: the build is aborted so
  // that it removes what it wrote (the output, the cache's temporary files) before mclu's
  // SIGKILL two seconds later; the appliance and the tools it ran get the signal too.
  const controller = new AbortController();
  const stop = (status: number) => () => {
    process.exitCode = status;
    controller.abort();
    setTimeout(() => process.exit(), 1500).unref();
  };
  process.once('SIGTERM', stop(143));
  process.once('SIGINT', stop(130));
  const result = await buildImage(
    build,
    {
      onStep: (text) => process.stderr.write(`${text}\n`),
      onOutput: (text) => process.stderr.write(text),
    },
    controller.signal,
  );
  const s = result.seconds;
  process.stderr.write(
    `built ${result.output} in ${s.total.toFixed(1)} s (copy ${s.copy.toFixed(1)}, appliance ${s.launch.toFixed(1)}, customisation ${s.customize.toFixed(1)}, write-back ${s.close.toFixed(1)})\n`,
  );
}

const [verb, ...args] = process.argv.slice(2);
main(verb, args).catch((error: unknown) => {
  process.stderr.write(`${messageOf(error)}\n`);
  process.exitCode ||= 1;
});
