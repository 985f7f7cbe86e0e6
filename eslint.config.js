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
    // The core is the domain: no engine library, no Node built-ins, no outer layer,
    // so it can later run in React Native or a browser.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'os', 'child_process', 'http', 'crypto'], message: 'core must not import Node built-ins; put it behind a port in src/adapters.' },
            { group: ['node-llama-cpp', '**/adapters/**', '**/entry/**', '**/composition*'], message: 'core must not depend on adapters, entry points or engines (dependencies point inward).' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/adapters/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/entry/**', '**/composition*'], message: 'adapters must not depend on entry points.' }] }],
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
