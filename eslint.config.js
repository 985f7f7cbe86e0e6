import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'test-artifacts/', 'bench-results/', '.venv/', 'python/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The core is the domain: an allow-list (its own files, zod, the Jinja library), so it can
    // run in React Native (test/hermes) or a browser. Everything else reaches it through a port.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\./[^/]+\\.js$|zod$|@huggingface/jinja$)', message: 'core imports only its own files, zod and @huggingface/jinja; put the rest behind a port in src/core/engine.ts and implement it in src/adapters.' }] }],
    },
  },
  {
    files: ['src/adapters/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/app/**', '**/entry/**'], message: 'adapters must not depend on the application layer or entry points (dependencies point inward).' }] }],
    },
  },
  {
    // Use cases and the composition root: the core, the adapters, and nothing above.
    files: ['src/app/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/entry/**'], message: 'the application layer must not depend on entry points.' }] }],
    },
  },
  {
    // Entry points parse, call the application layer and render: they reach no adapter, only the
    // application layer, the core, their own files and their own libraries (CLI, HTTP, metrics).
    files: ['src/entry/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(?!\\.(\\./)*/(app|core|entry)/|\\.\\.?/(?!(\\.\\./)*(adapters|composition|bench)\\b)|node:|(commander|zod|hono|hono/.+|@hono/node-server(/utils/response)?|prom-client|cli-progress)$)', message: 'entry points import the application layer (src/app), the core, their own files and their own libraries; adapters are reached through src/app.' }] },
      ],
    },
  },
  {
    files: ['web/**/*.js'],
    languageOptions: {
      globals: { document: 'readonly', window: 'readonly', location: 'readonly', history: 'readonly', localStorage: 'readonly', fetch: 'readonly', URLSearchParams: 'readonly', AbortController: 'readonly', TextDecoderStream: 'readonly', setTimeout: 'readonly' },
    },
  },
  {
    files: ['scripts/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
