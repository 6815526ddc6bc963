// A Node test reporter that counts leaf tests and prints one JSON line at the end, so
// that scripts/run-tests.mjs can add up several runs into one closing line.
export default async function* countReporter(source) {
  const counts = { pass: 0, fail: 0, skip: 0 };
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { details } = event.data;
    if (details.type === 'suite') continue;
    if (event.data.skip || event.data.todo) counts.skip += 1;
    else if (event.type === 'test:pass') counts.pass += 1;
    else counts.fail += 1;
  }
  yield JSON.stringify(counts) + '\n';
}
