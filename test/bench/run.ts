// `npm run bench`: speed lives here, not in timed tests. Each area adds its benchmarks to the list.
import { cpus } from 'node:os';
import { auditBenchmarks } from './audit.bench.js';
import { consoleInboxBenchmark } from './console-inbox.bench.js';
import { consoleReplayBenchmark } from './console-replay.bench.js';
import { identityBenchmarks } from './identity.bench.js';
import { maskingGatewayTarget } from './masking-gateway.bench.js';
import { maskingBenchmarks } from './masking.bench.js';
import { gatewayTarget, policyGatewayTarget } from './gateway.bench.js';
import { httpBenchmarks } from './http.bench.js';
import { formatResults } from './measure.js';
import { pgbenchBenchmarks } from './pgbench.bench.js';
import { policyBenchmarks } from './policy.bench.js';
import { sharedStoreBenchmarks } from './shared-store.bench.js';
import { sqlBenchmarks } from './sql.bench.js';

process.stdout.write(`Sluice benchmarks — node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'})\n\n`);
const results = [...(await identityBenchmarks()), ...(await auditBenchmarks()), ...(await sharedStoreBenchmarks()), ...(await sqlBenchmarks()), ...(await policyBenchmarks()), ...(await maskingBenchmarks())];
process.stdout.write(`${formatResults(results)}\n`);

process.stdout.write(`\n${await pgbenchBenchmarks(async (upstream) => [await gatewayTarget(upstream), await policyGatewayTarget(upstream), await maskingGatewayTarget(upstream)])}`);

// The HTTP API gateway against a local upstream, with autocannon.
process.stdout.write(`\n${await httpBenchmarks()}\n`);

// The web console in real Chromium (skipped with a reason when no Chromium is installed).
process.stdout.write(`\n${await consoleInboxBenchmark()}\n`);
process.stdout.write(`\n${await consoleReplayBenchmark()}\n`);
