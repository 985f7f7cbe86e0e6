import { nativeRuntimeState } from '../adapters/executorch/native-runtime.js';
import { toolchainState, venvDir } from '../adapters/executorch/toolchain.js';
import { detectBackends } from '../adapters/llamacpp/runtime.js';
import { detectDevice } from '../adapters/system/device.js';
import { hostInfo, pythonInfo } from '../adapters/system/host-info.js';
import { DEFAULT_PRIORITY, type PriorityItem } from '../core/artifact-plan.js';
import { planBackends } from '../core/backend-policy.js';
import type { App } from './composition.js';
import { databaseState, defaultDatabasePath } from './conversations.js';

/** What is kept, logged and protected on this device (no key is read or shown, only whether one is set). */
function privacy(env: NodeJS.ProcessEnv) {
  const database = defaultDatabasePath(env);
  return {
    promptLogging: 'off: the server logs methods, routes, statuses and times; prompt and answer text only with `onboard serve --log-prompts`',
    database: { path: database, state: databaseState(database), keyGiven: Boolean(env.ONBOARD_DB_KEY || env.ONBOARD_DB_KEY_FILE) },
    modelKeyGiven: Boolean(env.ONBOARD_MODEL_KEY || env.ONBOARD_MODEL_KEY_FILE),
  };
}

/**
 * What this machine can run: the host, the GPU backends and the device, the
 * cached models (re-hashed unless `verify` is false) and the order each
 * would be tried in, Python, the export toolchain and the native runtime.
 */
export async function diagnose(app: Pick<App, 'models' | 'planModel'>, options: { verify: boolean; priority?: readonly PriorityItem[] }) {
  const [host, backends, python, listing, toolchain, runtime] = await Promise.all([hostInfo(), detectBackends(), pythonInfo(venvDir()), app.models.list(), toolchainState(), nativeRuntimeState()]);
  const plan = planBackends('auto', backends);
  const device = await detectDevice(backends);
  const priority = options.priority?.length ? options.priority : undefined;
  // What `--model <name>` would try, in order, for each model in the cache.
  const choices = [];
  for (const [name, artifacts] of listing.groups) {
    const artifactPlan = await app.planModel(artifacts, priority ? { priority } : {}, device);
    choices.push({
      model: name,
      tryInOrder: artifactPlan.candidates.map((c) => ({ artifact: c.artifact.id, target: c.target.backend, engine: c.target.engine, reason: c.reason })),
      skipped: artifactPlan.skipped,
    });
  }
  const models = [];
  for (const model of listing.installed) {
    const check = options.verify ? await app.models.verify(model) : undefined;
    models.push({ id: model.manifest.id, path: model.path, sizeBytes: model.manifest.sizeBytes, checksum: check ? (check.ok ? 'ok' : `MISMATCH (${check.actualSha256})`) : 'not checked' });
  }
  return {
    node: host.node,
    platform: host.platform,
    cpu: host.cpu,
    memory: host.memory,
    backends,
    auto: { picks: plan.candidates[0], candidates: plan.candidates, skipped: plan.skipped },
    device: { ...device, priority: priority ?? DEFAULT_PRIORITY },
    models: choices,
    cache: { dir: app.models.root, models, problems: listing.problems },
    python,
    toolchain,
    executorchRuntime: runtime,
    privacy: privacy(process.env),
  };
}

export type Diagnosis = Awaited<ReturnType<typeof diagnose>>;
