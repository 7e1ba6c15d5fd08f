// Lint rules for the whole code base; `npm run lint` (part of `npm test`) runs it with Prettier's check.
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'release/', 'release-e2e-test/', 'node_modules/', 'test/e2e/__screenshots__/', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    rules: {
      // TypeScript checks names; ESLint's scope analysis does not know Node's or the DOM's globals.
      'no-undef': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Tests and fakes type loosely on purpose in places; each use is visible in review.
      '@typescript-eslint/no-explicit-any': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
      // `<!-- svelte-ignore code -- reason -->`: the plugin reads the reason's words as codes; svelte-check reports stale ignores.
      'svelte/no-unused-svelte-ignore': 'off',
      // Flags every Map/Set built inside a $derived computation, which is a local value, not state.
      'svelte/prefer-svelte-reactivity': 'off',
    },
  },
);
