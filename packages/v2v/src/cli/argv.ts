// virt-v2v spells some options with one dash and two letters; commander wants them long.

/** virt-v2v's multi-letter single-dash options, as long options. */
const MULTI_LETTER = ['ic', 'if', 'io', 'oc', 'of', 'oa', 'on', 'oo', 'op', 'os', 'ip', 'it'];

export function normaliseArgv(argv: readonly string[]): string[] {
  return argv.map((a) => {
    const m = /^-([a-z]{2})(=.*)?$/.exec(a);
    return m && MULTI_LETTER.includes(m[1]!) ? `--${m[1]}${m[2] ?? ''}` : a;
  });
}
