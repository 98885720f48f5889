// Lint for the TypeScript sources (typescript-eslint's recommended rules) and for the editor
// JavaScript in the nodes' .html files.
import tseslint from 'typescript-eslint';

/**
 * The `<script type="text/javascript">` blocks of a Node-RED editor file, as one script for ESLint:
 * every other line is left blank, so reported lines and columns are the .html file's own.
 */
const editorScripts = {
  meta: { name: 'porchlight-editor-scripts' },
  preprocess(text) {
    const lines = text.split('\n');
    const keep = new Array(lines.length).fill(false);
    let inside = false;
    lines.forEach((line, i) => {
      if (inside && /<\/script>/.test(line)) inside = false;
      else if (inside) keep[i] = true;
      else if (/<script type="text\/javascript">/.test(line)) inside = true;
    });
    return [{ text: lines.map((line, i) => (keep[i] ? line : '')).join('\n'), filename: 'editor.js' }];
  },
  postprocess(messages) {
    return messages.flat();
  },
  supportsAutofix: false,
};

/** What the editor's scripts may use besides the language: Node-RED's RED and jQuery. */
const editorGlobals = { RED: 'readonly', $: 'readonly', jQuery: 'readonly', window: 'readonly', document: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' };

export default tseslint.config(
  { ignores: ['dist/**', 'coverage/**', 'node_modules/**', '.node-red-dev/**', 'nodes/*/locales/**', 'examples/**', 'flows/**'] },
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
  {
    // The editor files: their scripts run in the browser as classic scripts, not as TypeScript modules.
    files: ['nodes/*/*.html'],
    processor: editorScripts,
  },
  {
    files: ['nodes/*/*.html/*.js'],
    languageOptions: { ecmaVersion: 2020, sourceType: 'script', globals: editorGlobals },
    rules: {
      'no-undef': 'error',
      'no-unused-vars': ['error', { args: 'none' }],
      '@typescript-eslint/no-unused-vars': 'off',
      // `var node = this` for jQuery callbacks is the editor's idiom.
      '@typescript-eslint/no-this-alias': 'off',
      'no-redeclare': 'error',
      'no-dupe-keys': 'error',
      'no-dupe-args': 'error',
      'no-duplicate-case': 'error',
      'no-unreachable': 'error',
      'no-const-assign': 'error',
      'no-func-assign': 'error',
      'no-self-assign': 'error',
      'no-self-compare': 'error',
      'no-cond-assign': 'error',
      'no-empty': 'error',
      'no-unsafe-finally': 'error',
      'no-irregular-whitespace': 'error',
      'no-sparse-arrays': 'error',
      'valid-typeof': 'error',
      'use-isnan': 'error',
      'eqeqeq': ['error', 'always', { null: 'ignore' }],
      'no-var': 'off',
      'prefer-const': 'off',
    },
  },
);
