import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { layeringRule } from './tools/eslint/layering-rule.js';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.sluice*/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    plugins: { sluice: { rules: { layering: layeringRule } } },
    rules: {
      'sluice/layering': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' },
      ],
    },
  },
  {
    // Browser code: the renderer and its component tests.
    files: ['renderer/**/*.{ts,tsx}', 'test/renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // Raw IPC only in the binding: main/electron/ipc-main.ts registers the handlers generated from
    // the API tables, main/preload/preload.ts hands ipcRenderer to the bridge. Anywhere else a
    // channel would bypass the sender check and the input schemas.
    files: ['**/*.{ts,tsx,js,mjs,cjs}'],
    ignores: ['main/electron/ipc-main.ts', 'main/preload/preload.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'electron', importNames: ['ipcMain', 'ipcRenderer'], message: 'Raw IPC is for the binding only (main/electron/ipc-main.ts, main/preload/preload.ts): add the method to proxy/api or main/ipc/desktop-contract.ts instead.' }] },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'electron', property: 'ipcMain', message: 'Raw IPC is for the binding only (main/electron/ipc-main.ts).' },
        { object: 'electron', property: 'ipcRenderer', message: 'Raw IPC is for the binding only (main/preload/preload.ts).' },
      ],
    },
  },
  {
    // Tool configs and vitest's globalSetup are loaded by default export.
    files: ['*.config.{js,ts}', 'renderer/vite.config.ts', 'test/setup/**'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
