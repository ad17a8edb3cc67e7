// ESLint rule `sluice/layering`: which top-level folder may import what (see docs/architecture.md).
//   proxy/    the engine: never electron, main/ or renderer/ (proxy/common/: no Node, only itself)
//   renderer/ browser code: only proxy/common/ and *types* from proxy/api/ and main/ipc/; no electron, no node:
//   main/     Electron glue: anything but renderer/ source
import { builtinModules } from 'node:module';
import { dirname, relative, resolve, sep } from 'node:path';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..', '..');
const NODE_BUILTINS = new Set(builtinModules);

/** @returns {string[]} path segments relative to the repo root, or [] when outside it */
function segmentsOf(absolute) {
  const rel = relative(ROOT, absolute);
  return rel.startsWith('..') ? [] : rel.split(sep);
}

function isNodeBuiltin(specifier) {
  return specifier.startsWith('node:') || NODE_BUILTINS.has(specifier.split('/')[0]);
}

function isElectron(specifier) {
  return specifier === 'electron' || specifier.startsWith('electron/');
}

/** Returns a message when `specifier` imported from `file` breaks the layering, else undefined. */
function violation(file, specifier, typeOnly) {
  const [layer, area] = segmentsOf(file);
  const relativeImport = specifier.startsWith('.');
  const target = relativeImport ? segmentsOf(resolve(dirname(file), specifier)) : [];
  const [targetLayer, targetArea] = target;
  switch (layer) {
    case 'proxy':
      if (area === 'common') {
        // proxy/common runs in the renderer too: no Node APIs, nothing from the rest of the engine.
        if (!relativeImport && isNodeBuiltin(specifier)) return `proxy/common/ is isomorphic: it must not import the Node module "${specifier}"`;
        if (relativeImport && !(targetLayer === 'proxy' && targetArea === 'common')) return 'proxy/common/ may import only from proxy/common/';
      }
      if (isElectron(specifier)) return 'proxy/ is the engine and runs without Electron: it must not import "electron"';
      if (targetLayer === 'main' || targetLayer === 'renderer') return `proxy/ must not import ${targetLayer}/ (the engine sits below the app)`;
      return undefined;
    case 'renderer':
      // Build configs (renderer/vite.config.ts) run in Node at build time, not in the browser.
      if (/\.config\.[cm]?[jt]s$/.test(file)) return undefined;
      if (isElectron(specifier)) return 'renderer/ must not import "electron": talk to the engine through EngineClient';
      if (!relativeImport && isNodeBuiltin(specifier)) return `renderer/ runs in the browser: it must not import the Node module "${specifier}"`;
      if (targetLayer === 'main') {
        // The preload's object is described in main/ipc/ (bridge-types.ts): its types, like proxy/api's, are the contract.
        if (targetArea === 'ipc' && typeOnly) return undefined;
        return 'renderer/ must not import main/ (only types from main/ipc/): use the EngineClient the preload exposes';
      }
      if (targetLayer === 'proxy') {
        if (targetArea === 'common') return undefined;
        if (targetArea === 'api' && typeOnly) return undefined;
        if (targetArea === 'api') return 'renderer/ may import only types from proxy/api (use `import type`)';
        return `renderer/ may import only proxy/common/ and types from proxy/api/, not proxy/${targetArea ?? ''}`;
      }
      return undefined;
    case 'main':
      if (targetLayer === 'renderer') return 'main/ must not import renderer/ source: load the built renderer instead';
      return undefined;
    default:
      return undefined;
  }
}

function isTypeOnly(node) {
  if (node.importKind === 'type' || node.exportKind === 'type') return true;
  const specifiers = node.specifiers ?? [];
  return specifiers.length > 0 && specifiers.every((s) => s.importKind === 'type' || s.exportKind === 'type');
}

/** @type {import('eslint').Rule.RuleModule} */
export const layeringRule = {
  meta: {
    type: 'problem',
    docs: { description: 'Keeps proxy/, main/ and renderer/ in their layers' },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    const check = (node, source, typeOnly) => {
      if (!source || typeof source.value !== 'string') return;
      const message = violation(file, source.value, typeOnly);
      if (message) context.report({ node: source, message });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source, isTypeOnly(node)),
      ExportNamedDeclaration: (node) => check(node, node.source, isTypeOnly(node)),
      ExportAllDeclaration: (node) => check(node, node.source, node.exportKind === 'type'),
      ImportExpression: (node) => check(node, node.source, false),
      CallExpression: (node) => {
        if (node.callee.type === 'Identifier' && node.callee.name === 'require') check(node, node.arguments[0], false);
      },
    };
  },
};
