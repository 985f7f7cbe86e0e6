// Stands in for `node:test` when the core's unit tests run under Hermes (scripts/hermes-tests.mjs):
// describe/it collected in order, run one at a time, results printed in TAP's words. Test
// harness only; the core itself gets nothing from here.
declare const print: (line: string) => void;

type Body = () => unknown;
const tests: Array<{ name: string; body: Body }> = [];
const path: string[] = [];

export function describe(name: string, body: () => void): void {
  path.push(name);
  body();
  path.pop();
}

export function it(name: string, body: Body): void {
  tests.push({ name: [...path, name].join(' > '), body });
}

export const test = it;

/** Runs every collected test; the script reads the summary lines. */
export async function runCollected(): Promise<void> {
  let pass = 0;
  let fail = 0;
  for (const { name, body } of tests) {
    try {
      await body();
      pass++;
      print(`ok - ${name}`);
    } catch (error) {
      fail++;
      print(`not ok - ${name}\n  ${error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error)}`);
    }
  }
  print(`# pass ${pass}\n# fail ${fail}`);
}
