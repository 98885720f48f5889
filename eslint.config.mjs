// Lint for the TypeScript sources (typescript-eslint's recommended rules).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'coverage/**', 'node_modules/**', '.node-red-dev/**', '**/*.html', 'examples/**', 'flows/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // The lib boundary: outside lib/, code imports an area's index
    // (lib/<area>) or lib/errors, never a file inside an area. Tests are
    // exempt (they test internals).
    files: ['nodes/**/*.ts', 'cli/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          group: ['**/lib/*/*'],
          message: 'Import lib/<area> (its index.ts) or lib/errors, not a file inside a lib area; export what you need from that index.',
        }],
      }],
    },
  },
  {
    // Tests read loosely typed Node-RED messages.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
