import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { GenerationStats } from '../../core/types.js';
import type { ModelHost } from './model-host.js';
import type { ThermalGuard } from '../../core/thermal.js';

/** Prometheus metrics, in the spirit of llama.cpp's server: requests, tokens, latency, queue. */
export function createMetrics(host: ModelHost, thermal?: ThermalGuard) {
  const registry = new Registry();
  const requests = new Counter({ name: 'onboard_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'] as const, registers: [registry] });
  const promptTokens = new Counter({ name: 'onboard_prompt_tokens_total', help: 'Prompt tokens of finished generations', registers: [registry] });
  const prefillTokens = new Counter({ name: 'onboard_prefill_tokens_total', help: 'Prompt tokens evaluated (not reused from the KV cache)', registers: [registry] });
  const completionTokens = new Counter({ name: 'onboard_completion_tokens_total', help: 'Generated tokens', registers: [registry] });
  const generations = new Counter({ name: 'onboard_generations_total', help: 'Finished generations by stop reason', labelNames: ['stop_reason'] as const, registers: [registry] });
  const ttft = new Histogram({ name: 'onboard_time_to_first_token_seconds', help: 'Time from request to first token', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30], registers: [registry] });
  const decodeSpeed = new Histogram({ name: 'onboard_decode_tokens_per_second', help: 'Decode speed per generation', buckets: [1, 2, 5, 10, 20, 40, 80, 160, 320], registers: [registry] });
  new Gauge({ name: 'onboard_queue_depth', help: 'Requests waiting for a free sequence', registers: [registry], collect() { this.set(host.runner?.queueDepth ?? 0); } });
  new Gauge({ name: 'onboard_active_generations', help: 'Generations running now', registers: [registry], collect() { this.set(host.runner?.active ?? 0); } });
  new Gauge({ name: 'onboard_model_ready', help: '1 when the model is loaded', registers: [registry], collect() { this.set(host.status === 'ready' ? 1 : 0); } });
  if (thermal) {
    const states = { normal: 0, throttled: 1, critical: 2 } as const;
    new Gauge({ name: 'onboard_thermal_state', help: '0 normal, 1 throttled (a zone at or above a passive trip point), 2 critical (new answers refused)', registers: [registry], collect() { this.set(states[thermal.reading().state]); } });
    new Gauge({ name: 'onboard_thermal_zone_celsius', help: 'Temperature of the zone that decides the thermal state (the hottest when normal)', registers: [registry], collect() { this.set(thermal.reading().zone?.tempC ?? 0); } });
  }
  // The llama.cpp engine runs in-process; engines in a host process (ExecuTorch) count their restarts here.
  const engineRestarts = new Counter({ name: 'onboard_engine_restarts_total', help: 'Engine host processes restarted after a crash', registers: [registry] });

  return {
    registry,
    engineRestarts,
    request(route: string, status: number) {
      requests.inc({ route, status: String(status) });
    },
    generation(stats: GenerationStats) {
      promptTokens.inc(stats.promptTokens);
      prefillTokens.inc(stats.prefillTokens);
      completionTokens.inc(stats.decodeTokens);
      generations.inc({ stop_reason: stats.stopReason });
      ttft.observe(stats.timeToFirstTokenMs / 1000);
      if (stats.decodeTokensPerSecond > 0) decodeSpeed.observe(stats.decodeTokensPerSecond);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
