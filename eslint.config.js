// ESLint (flat config) with typescript-eslint's type-aware rules: a small set
// of errors for real problems only. `npm run lint`; `.ci/run` calls it.
// Formatting is prettier's job (`npm run format:check`), not ESLint's.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', 'native/build/', 'web/dist/', 'models/', '**/*.js', '**/*.mjs', '**/*.cjs'],
  },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/*.ts', 'web/src/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // An assertion that changes nothing hides what the code relies on
      // (e.g. `a[i]!` while noUncheckedIndexedAccess is off; docs/architecture.md, Conventions).
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      // A promise nobody awaits loses its error (an unhandled rejection) and its ordering.
      // (node:test's test()/describe() return promises the runner itself tracks.)
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      // Awaiting a non-promise is a misunderstanding of the callee.
      '@typescript-eslint/await-thenable': 'error',
      // A promise where a boolean is expected is always truthy. (Async callbacks
      // where void is expected — DOM and server handlers — are allowed.)
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
);
