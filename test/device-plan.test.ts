// Device detection's parsing (Android system properties transcribed in test/fixtures/android, standing in
// for phones and head units) and the priority chain's ordering, on literal inputs. The chain on real
// artifacts, with real failures, is in artifact-chain.test.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseGetprop, socFromProps } from '../src/adapters/system/android-soc.js';
import { deviceProfile } from '../src/adapters/system/device.js';
import { modelNameOf } from '../src/adapters/models/cache.js';
import type { Manifest } from '../src/adapters/models/manifest.js';
import { parsePriority, planArtifacts, type Artifact, type DeviceProfile } from '../src/core/artifact-plan.js';
import type { BackendCapability } from '../src/core/backend-policy.js';

const props = (name: string) => parseGetprop(readFileSync(new URL(`fixtures/android/${name}.getprop`, import.meta.url), 'utf8'));
const arm = { platform: 'android-arm64', cpu: { model: 'unknown', logicalCores: 8, features: ['asimd'] } };
const noGpu: BackendCapability[] = [
  { backend: 'cpu', available: true, devices: [], softwareOnly: false },
  { backend: 'vulkan', available: false, devices: [], softwareOnly: false, detail: 'no Vulkan loader' },
];

describe('Android system properties', () => {
  it('parses getprop lines: brackets inside values, CRLF, empty values and junk skipped', () => {
    const dimensity = props('dimensity-9300');
    assert.equal(dimensity['ro.product.marketname'], 'Phone X [5G]');
    assert.equal(dimensity['ro.vendor.empty'], undefined);
    assert.equal(Object.keys(dimensity).length, 7);
    const kona = props('android11-kona');
    assert.equal(kona['ro.board.platform'], 'kona', 'CRLF does not stick to the value');
    assert.deepEqual(parseGetprop('getprop: not found\n'), {});
  });

  it('a Snapdragon 8 Gen 3 phone has a QNN HTP v75 NPU and an Adreno Vulkan driver', () => {
    const soc = socFromProps(props('galaxy-s24-sm8650'));
    assert.deepEqual(soc, {
      manufacturer: 'Qualcomm',
      model: 'SM8650',
      name: 'Snapdragon 8 Gen 3',
      platform: 'pineapple',
      npu: { kind: 'qnn-htp', htpArch: 'v75', chipset: 'SM8650' },
      vulkanDriver: 'adreno',
    });
  });

  it('an automotive SA8295P maps to QNN chipset SA8295 (HTP v68)', () => {
    const soc = socFromProps(props('automotive-sa8295p'));
    assert.equal(soc?.name, 'Snapdragon Cockpit SA8295P');
    assert.deepEqual(soc?.npu, { kind: 'qnn-htp', htpArch: 'v68', chipset: 'SA8295' });
  });

  it('before Android 12 the board platform names the SoC; SM8250 has no HTP that QNN targets', () => {
    const soc = socFromProps(props('android11-kona'));
    assert.equal(soc?.model, 'SM8250');
    assert.equal(soc?.name, 'Snapdragon 865');
    assert.equal(soc?.manufacturer, 'Qualcomm');
    assert.equal(soc?.npu, undefined);
  });

  it('SoCs that are not Qualcomm have no QNN NPU, whatever their model', () => {
    for (const name of ['pixel-8-tensor-g3', 'dimensity-9300']) {
      const soc = socFromProps(props(name));
      assert.ok(soc && !soc.npu, name);
      assert.equal(soc.vulkanDriver, 'mali');
    }
    assert.equal(socFromProps({ 'ro.build.version.sdk': '34' }), undefined);
  });
});

function artifact(id: string, format: 'pte' | 'gguf', sizeBytes: number, targets: Artifact['targets']): Artifact {
  return { id, path: `/models/${id}`, format, sizeBytes, quantization: 'q', targets };
}
const qnnPte = artifact('qnn', 'pte', 300, [{ engine: 'executorch', backend: 'qnn', needs: ['qnn'] }]);
const vulkanPte = artifact('vulkan', 'pte', 600, [{ engine: 'executorch', backend: 'vulkan', needs: ['vulkan', 'xnnpack'] }]);
const xnnpackPte = artifact('xnnpack', 'pte', 100, [{ engine: 'executorch', backend: 'xnnpack', needs: ['xnnpack'] }]);
const fp32Pte = artifact('fp32', 'pte', 600, [{ engine: 'executorch', backend: 'xnnpack', needs: ['xnnpack'] }]);
const gguf = artifact('gguf', 'gguf', 90, (['cuda', 'vulkan', 'cpu'] as const).map((b) => ({ engine: 'llamacpp' as const, backend: b, needs: [b] })));
const all = [gguf, fp32Pte, xnnpackPte, vulkanPte, qnnPte];
const order = (plan: ReturnType<typeof planArtifacts>) => plan.candidates.map((c) => `${c.artifact.id}@${c.target.backend}`);

describe('the artifact priority chain', () => {
  it('on a Snapdragon phone: NPU, then GPU, then CPU; a .pte before a GGUF, then the smaller file', () => {
    const phone = deviceProfile(arm, noGpu, socFromProps(props('galaxy-s24-sm8650')));
    assert.deepEqual(phone.npus, [{ kind: 'qnn-htp', name: 'Hexagon HTP v75', soc: 'SM8650', htpArch: 'v75' }]);
    const plan = planArtifacts(all, phone);
    assert.deepEqual(order(plan), ['qnn@qnn', 'vulkan@vulkan', 'gguf@vulkan', 'xnnpack@xnnpack', 'fp32@xnnpack', 'gguf@cpu']);
    assert.deepEqual(plan.skipped.map((s) => `${s.artifact}@${s.backend}`), ['gguf@cuda']);
    assert.match(plan.candidates[0]!.reason, /npu \(qnn\), by priority npu,gpu,cpu/);
  });

  it('on a Pixel: no QNN NPU, said with the SoC', () => {
    const pixel = deviceProfile(arm, noGpu, socFromProps(props('pixel-8-tensor-g3')));
    const plan = planArtifacts(all, pixel);
    assert.equal(order(plan)[0], 'vulkan@vulkan');
    assert.match(plan.skipped.find((s) => s.artifact === 'qnn')!.reason, /Tensor G3 has no Qualcomm HTP NPU/);
  });

  it('a software-only GPU is skipped under "gpu" and used when its backend is named', () => {
    const server: DeviceProfile = {
      platform: 'linux-x64',
      cpu: { model: 'x', logicalCores: 2, features: [] },
      gpus: [{ api: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)', softwareOnly: true }],
      npus: [],
      gpuNotes: { cuda: 'no NVIDIA driver' },
    };
    const byDefault = planArtifacts(all, server);
    assert.deepEqual(order(byDefault), ['xnnpack@xnnpack', 'fp32@xnnpack', 'gguf@cpu']);
    assert.match(byDefault.skipped.find((s) => s.artifact === 'vulkan')!.reason, /only a software device \(llvmpipe.*--priority vulkan,cpu/);
    assert.equal(byDefault.skipped.find((s) => s.backend === 'cuda')!.reason, 'no NVIDIA driver');
    const named = planArtifacts(all, server, ['vulkan', 'cpu']);
    assert.deepEqual(order(named), ['vulkan@vulkan', 'gguf@vulkan', 'xnnpack@xnnpack', 'fp32@xnnpack', 'gguf@cpu']);
  });

  it('a priority can put the CPU first, and what it leaves out is said', () => {
    const phone = deviceProfile(arm, noGpu, socFromProps(props('galaxy-s24-sm8650')));
    const plan = planArtifacts(all, phone, ['cpu']);
    assert.deepEqual(order(plan), ['xnnpack@xnnpack', 'fp32@xnnpack', 'gguf@cpu']);
    assert.ok(plan.skipped.some((s) => s.artifact === 'qnn' && /not in the priority list \(cpu\)/.test(s.reason)));
  });

  it('a measured top-1 agreement under the floor ranks an artifact after those that keep the model\'s choices, whatever its size', () => {
    const cpuOnly = deviceProfile(arm, noGpu, socFromProps(props('pixel-8-tensor-g3')));
    const lossy = { ...xnnpackPte, id: '8da4w', top1Agreement: 0.563 };
    const kept = { ...artifact('8da8w', 'pte', 157, xnnpackPte.targets), top1Agreement: 0.927 };
    const plan = planArtifacts([gguf, lossy, kept, fp32Pte], cpuOnly, ['cpu']);
    // Measured and kept, then not measured (fp32 here), then measured and lost: 8da4w, the smallest, goes last of the .pte files.
    assert.deepEqual(order(plan), ['8da8w@xnnpack', 'fp32@xnnpack', '8da4w@xnnpack', 'gguf@cpu']);
    assert.match(plan.candidates[2]!.reason, /top-1 agreement 56\.3% is under 90%/);
    assert.doesNotMatch(plan.candidates[0]!.reason, /agreement/);
    // An export made before exports measured themselves (no figure) comes after one that proved it keeps them.
    const unmeasured = { ...xnnpackPte, id: 'old-8da4w' };
    assert.deepEqual(order(planArtifacts([unmeasured, kept], cpuOnly, ['cpu'])), ['8da8w@xnnpack', 'old-8da4w@xnnpack']);
  });

  it('parses priority lists and names unknown items', () => {
    assert.deepEqual(parsePriority('NPU, vulkan,cpu'), { priority: ['npu', 'vulkan', 'cpu'], unknown: [] });
    assert.deepEqual(parsePriority('gpu,tpu').unknown, ['tpu']);
  });
});

describe('which model an artifact belongs to', () => {
  const gguf = { id: 'smollm2-135m-instruct-q4_1', format: 'gguf' } as Manifest;
  const exported = (id: string, location: string, model?: string) => ({ id, format: 'pte', source: { kind: 'export', location, sha256: '' }, ...(model ? { model } : {}) }) as Manifest;
  const byId = new Map<string, Manifest>([[gguf.id, gguf]]);

  it('a catalog download joins the catalog model; an export joins the model of what it was exported from', () => {
    assert.equal(modelNameOf(gguf, byId), 'smollm2-135m-instruct');
    assert.equal(modelNameOf(exported('smollm2-135m-vulkan', 'model:smollm2-135m-instruct-q4_1'), byId), 'smollm2-135m-instruct');
    // The source need not be installed: the catalog still names its model.
    assert.equal(modelNameOf(exported('x', 'model:smollm2-135m-instruct-q4_1'), new Map()), 'smollm2-135m-instruct');
  });

  it('the manifest\'s own model wins; an export from a file is a model of its own', () => {
    assert.equal(modelNameOf(exported('mine', 'model:smollm2-135m-instruct-q4_1', 'car-assistant'), byId), 'car-assistant');
    assert.equal(modelNameOf(exported('local', '/models/llama/consolidated.pth'), byId), 'local');
  });
});
