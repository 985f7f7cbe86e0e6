/** The library entry: build an app, open a chat, stream answers. */
export { createApp, configFromEnv, type App, type AppConfig, type OpenChatOptions, type OpenModelOptions } from './app/composition.js';
export { ChatSession, type Answer, type ChatSessionOptions, type SendOptions, type Tool, type ToolRun } from './core/chat-session.js';
export type { JsonSchema, OutputConstraint } from './core/output-constraint.js';
export type { ToolChoice, ToolDefinition } from './core/tools.js';
export { ModelRunner, type GenerateOptions, type ModelRunnerOptions } from './core/model-runner.js';
export type { Engine, EngineSequence, LoadedModel, LoadOptions, ModelInfo, MemoryProbe } from './core/engine.js';
export * from './core/errors.js';
export { samplingSchema, resolveSampling, type SamplingInput, type SamplingOptions } from './core/sampling.js';
export type * from './core/types.js';
export { readGguf, type GgufSummary } from './adapters/gguf/reader.js';
export type { OpenRunnerOptions } from './app/composition.js';
export type { MemoryFit, MemoryShape } from './core/memory-estimate.js';
export { fixedPrefillRate, measuredPrefillRate, type PrefillRate } from './core/ttft-budget.js';
export type { ThermalGuard, ThermalReading, ThermalState, ThermalZone } from './core/thermal.js';
export { verifyBundle, type BundleManifest } from './app/bundle.js';
