// The Vulkan backend, for real: Mesa's llvmpipe gives a Vulkan device on a machine without a GPU.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { runCli } from './helpers.js';

const hasVulkanLoader = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1'].some(existsSync);

describe('vulkan backend', { skip: hasVulkanLoader ? false : 'no Vulkan loader (apt-get install libvulkan1 mesa-vulkan-drivers)' }, () => {
  it('runs the model on a Vulkan device and says which', async () => {
    // llama.cpp hides CPU-type Vulkan devices unless they are listed explicitly.
    const result = await runCli(['run', '--json', '--backend', 'vulkan', '--temperature', '0', '--max-tokens', '8', 'What is the capital of France?'], {
      env: { GGML_VK_VISIBLE_DEVICES: '0' },
      timeoutMs: 300_000,
    });
    assert.equal(result.code, 0, result.stderr);
    const { text, stats } = JSON.parse(result.stdout);
    assert.equal(stats.backend, 'vulkan');
    assert.match(stats.backendReason, /requested with --backend vulkan on .+/);
    assert.ok(stats.decodeTokens > 0);
    assert.ok(text.length > 0);
  });

  it('auto does not pick a software-only Vulkan device and says why', async () => {
    const doctor = JSON.parse((await runCli(['doctor', '--json', '--no-verify'])).stdout);
    const vulkan = doctor.backends.find((b: { backend: string }) => b.backend === 'vulkan');
    if (vulkan.available && !vulkan.softwareOnly) return; // a real GPU: auto may rightly pick it
    assert.notEqual(doctor.auto.picks, 'vulkan');
    const skipped = doctor.auto.skipped.find((s: { backend: string }) => s.backend === 'vulkan');
    assert.match(skipped.reason, /software|no GPU device/);
  });
});
