import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ExportConfigError } from '../../core/errors.js';
import { exportConfigSchema, type ExportConfig } from '../../core/export-config.js';
import { readTextAtMost } from '../files/file-checks.js';

/** Real configs are under 2 KiB; anything far larger is not one. */
const MAX_CONFIG_BYTES = 1 << 20;

/**
 * Reads an export config: YAML file, then `--set key=value` overrides, then
 * the schema. Every problem is reported at once, each naming its key.
 */
export async function loadExportConfig(file: string, overrides: readonly string[] = []): Promise<ExportConfig> {
  let text: string;
  try {
    text = await readTextAtMost(file, MAX_CONFIG_BYTES);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ExportConfigError(file, ['the file does not exist (configs/ has working examples)']);
    throw new ExportConfigError(file, [`cannot read the file: ${(error as Error).message}`]);
  }
  const document = parseDocument(text, { uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ExportConfigError(file, document.errors.map((e) => `YAML: ${e.message.split('\n')[0]}`));
  }
  let raw: unknown;
  try {
    // yaml bounds alias expansion (maxAliasCount), so a "billion laughs" file fails here instead of filling memory.
    raw = document.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    throw new ExportConfigError(file, [`YAML: ${(error as Error).message.split('\n')[0]}`]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ExportConfigError(file, ['the top level must be a mapping (base:, model:, backend:, quantization:, export:)']);
  const problems: string[] = [];
  for (const override of overrides) {
    const problem = applyOverride(raw as Record<string, unknown>, override);
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) throw new ExportConfigError(file, problems);
  return parseExportConfig(raw, file);
}

function parseExportConfig(raw: unknown, file: string): ExportConfig {
  const parsed = exportConfigSchema.safeParse(raw, { reportInput: true });
  if (parsed.success) return parsed.data;
  throw new ExportConfigError(file, parsed.error.issues.map(describeIssue));
}

/** `quantization.qmode=none`: the value is read as YAML, so numbers and booleans keep their type. */
function applyOverride(target: Record<string, unknown>, override: string): string | undefined {
  const eq = override.indexOf('=');
  if (eq <= 0) return `--set ${override}: expected key=value, e.g. --set quantization.qmode=none`;
  const path = override.slice(0, eq).split('.');
  const value: unknown = parseDocument(override.slice(eq + 1)).toJS();
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) node[key] = {};
    else if (typeof next !== 'object' || next === null) return `--set ${override}: ${key} is not a section`;
    node = node[key] as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
  return undefined;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.join('.') || '(top level)';
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(issue.path);
      return issue.keys.map((k) => `${[...issue.path, k].join('.')}: unknown key${known ? `; known keys here: ${known.join(', ')}` : ''}`).join('\n  - ');
    }
    case 'invalid_value':
      return `${key}: got ${JSON.stringify(valueAt(issue))}; allowed: ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'invalid_type':
      return issue.input === undefined ? `${key}: required (${issue.expected})` : `${key}: expected ${issue.expected}, got ${JSON.stringify(issue.input)}`;
    default:
      return `${key}: ${issue.message}`;
  }
}

function valueAt(issue: z.core.$ZodIssue): unknown {
  return 'input' in issue ? issue.input : undefined;
}

/** The keys the schema allows at a path, to suggest the right spelling. */
function knownKeys(path: readonly PropertyKey[]): string[] | undefined {
  let schema: z.ZodType = exportConfigSchema;
  for (const key of path) {
    const shape = objectShape(schema);
    if (!shape || !(String(key) in shape)) return undefined;
    schema = shape[String(key)]!;
  }
  const shape = objectShape(schema);
  return shape ? Object.keys(shape) : undefined;
}

function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  let current: unknown = schema;
  // Unwrap defaults, prefaults and optionals down to the object.
  for (let i = 0; i < 5 && current && typeof current === 'object'; i++) {
    if (current instanceof z.ZodObject) return current.shape as Record<string, z.ZodType>;
    const inner = (current as { _zod?: { def?: { innerType?: unknown } } })._zod?.def?.innerType;
    if (!inner) return undefined;
    current = inner;
  }
  return undefined;
}
