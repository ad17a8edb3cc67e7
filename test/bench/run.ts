// `npm run bench`: speed lives here, not in timed tests. Each area adds its benchmarks to the list.
import { cpus } from 'node:os';
import { identityBenchmarks } from './identity.bench.js';
import { formatResults } from './measure.js';

process.stdout.write(`Sluice benchmarks — node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'})\n\n`);
const results = [...(await identityBenchmarks())];
process.stdout.write(`${formatResults(results)}\n`);
