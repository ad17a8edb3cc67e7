#!/usr/bin/env node
// The published entry point: runs the compiled CLI (built by `npm run build`, which `prepare` runs).
import { runAsProcess } from '../dist/proxy/cli/main.js';

await runAsProcess();
