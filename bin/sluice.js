#!/usr/bin/env node
// The published entry point: runs the compiled CLI (built by `npm run build`, which `prepare` runs).
import { main } from '../dist/proxy/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
