import { contextBridge, ipcRenderer } from 'electron';
import { BRIDGE_NAME } from '../ipc/channels.js';
import { createEngineBridge } from './engine-bridge.js';

// The preload: bundled by esbuild into one CommonJS file (dist/main/preload.cjs), since a
// sandboxed preload cannot import modules. It exposes one named object and nothing else.
contextBridge.exposeInMainWorld(BRIDGE_NAME, createEngineBridge(ipcRenderer));
