// Stands in for `node:assert/strict` under Hermes (scripts/hermes-tests.mjs): the assertions the
// core's unit tests use, with the same meaning. Test harness only.
type ErrorCheck = (new (...args: never[]) => Error) | ((error: unknown) => boolean) | RegExp;

class AssertionError extends Error {
  override name = 'AssertionError';
}

const show = (value: unknown) => {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
};

function fail(message: string | undefined, detail: string): never {
  throw new AssertionError(message ? `${message} (${detail})` : detail);
}

function isDeepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((item, i) => isDeepEqual(item, (b as unknown[])[i]));
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length && keysA.every((key) => Object.prototype.hasOwnProperty.call(b, key) && isDeepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

function matches(error: unknown, check: ErrorCheck | undefined): boolean {
  if (check === undefined) return true;
  if (check instanceof RegExp) return check.test(String(error instanceof Error ? error.message : error));
  if (check.prototype instanceof Error || check === Error) return error instanceof (check as new () => Error);
  return (check as (error: unknown) => boolean)(error);
}

function ok(value: unknown, message?: string): asserts value {
  if (!value) fail(message, `expected a truthy value, got ${show(value)}`);
}

const assert = Object.assign(ok, {
  ok,
  equal(actual: unknown, expected: unknown, message?: string) {
    if (!Object.is(actual, expected)) fail(message, `${show(actual)} !== ${show(expected)}`);
  },
  notEqual(actual: unknown, expected: unknown, message?: string) {
    if (Object.is(actual, expected)) fail(message, `both are ${show(actual)}`);
  },
  deepEqual(actual: unknown, expected: unknown, message?: string) {
    if (!isDeepEqual(actual, expected)) fail(message, `${show(actual)} is not deeply equal to ${show(expected)}`);
  },
  notDeepEqual(actual: unknown, expected: unknown, message?: string) {
    if (isDeepEqual(actual, expected)) fail(message, `both are ${show(actual)}`);
  },
  match(text: string, pattern: RegExp, message?: string) {
    if (!pattern.test(text)) fail(message, `${show(text)} does not match ${pattern}`);
  },
  throws(run: () => unknown, check?: ErrorCheck, message?: string) {
    try {
      run();
    } catch (error) {
      if (!matches(error, check)) fail(message, `threw the wrong error: ${String(error)}`);
      return;
    }
    fail(message, 'expected it to throw');
  },
  doesNotThrow(run: () => unknown, message?: string) {
    try {
      run();
    } catch (error) {
      fail(message, `threw ${String(error)}`);
    }
  },
  async rejects(promise: Promise<unknown> | (() => Promise<unknown>), check?: ErrorCheck, message?: string) {
    try {
      await (typeof promise === 'function' ? promise() : promise);
    } catch (error) {
      if (!matches(error, check)) fail(message, `rejected with the wrong error: ${String(error)}`);
      return;
    }
    fail(message, 'expected it to reject');
  },
});

export default assert;
