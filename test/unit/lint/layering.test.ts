import { resolve } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..', '..');
const eslint = new ESLint({ cwd: root });

/** Lints `code` as if it lived at `file` and returns the layering messages. */
async function layeringErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: resolve(root, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'sluice/layering').map((m) => m.message);
}

describe('the layering lint rule', () => {
  it('stops the engine from importing electron, main/ or renderer/', async () => {
    expect(await layeringErrors('proxy/postgres/x.ts', "import { app } from 'electron';\nexport const a = app;\n")).toEqual([
      expect.stringContaining('must not import "electron"'),
    ]);
    expect(await layeringErrors('proxy/audit/x.ts', "export { w } from '../../main/window.js';\n")).toEqual([
      expect.stringContaining('proxy/ must not import main/'),
    ]);
    expect(await layeringErrors('proxy/x.ts', "export const m = await import('../renderer/app.js');\n")).toEqual([
      expect.stringContaining('proxy/ must not import renderer/'),
    ]);
  });

  it('keeps proxy/common free of Node and of the rest of the engine, since the renderer imports it', async () => {
    expect(await layeringErrors('proxy/common/x.ts', "import { createHash } from 'node:crypto';\nexport const h = createHash;\n")).toEqual([
      expect.stringContaining('proxy/common/ is isomorphic'),
    ]);
    expect(await layeringErrors('proxy/common/x.ts', "import { loadConfig } from '../config/load-config.js';\nexport const l = loadConfig;\n")).toEqual([
      expect.stringContaining('proxy/common/ may import only from proxy/common/'),
    ]);
    expect(await layeringErrors('proxy/common/x.ts', "import { parseUrl } from './urls.js';\nexport const p = parseUrl;\n")).toEqual([]);
  });

  it('lets the renderer import proxy/common and only types from proxy/api', async () => {
    expect(await layeringErrors('renderer/app.tsx', "import { canonical } from '../proxy/common/canonical.js';\nexport const c = canonical;\n")).toEqual([]);
    expect(await layeringErrors('renderer/app.tsx', "import type { Api } from '../proxy/api/contract.js';\nexport type A = Api;\n")).toEqual([]);
    expect(await layeringErrors('renderer/app.tsx', "import { api } from '../proxy/api/contract.js';\nexport const a = api;\n")).toEqual([
      expect.stringContaining('only types from proxy/api'),
    ]);
    expect(await layeringErrors('renderer/screens/a.tsx', "import { loadConfig } from '../../proxy/config/load-config.js';\nexport const l = loadConfig;\n")).toEqual([
      expect.stringContaining('not proxy/config'),
    ]);
    expect(await layeringErrors('renderer/a.tsx', "import { readFile } from 'node:fs/promises';\nexport const r = readFile;\n")).toEqual([
      expect.stringContaining('runs in the browser'),
    ]);
  });

  it('keeps main/ from importing renderer source but lets it use the engine', async () => {
    expect(await layeringErrors('main/window.ts', "import { loadConfig } from '../proxy/config/load-config.js';\nexport const l = loadConfig;\n")).toEqual([]);
    expect(await layeringErrors('main/window.ts', "import { App } from '../renderer/app.js';\nexport const a = App;\n")).toEqual([
      expect.stringContaining('main/ must not import renderer/'),
    ]);
  });

  it('passes on the real tree', async () => {
    const results = await eslint.lintFiles(['proxy', 'test/helpers']);
    const layering = results.flatMap((r) => r.messages.filter((m) => m.ruleId === 'sluice/layering').map((m) => `${r.filePath}: ${m.message}`));
    expect(layering).toEqual([]);
  });
});
