// A gateway stand-in for the cross-process tests: opens the store at argv[2] as its writer,
// records one session with five statements every 5 ms, prints the session id once the first
// events are committed, and runs until it is killed.
import { openAuditStore } from '../../../proxy/audit/audit-store.js';

const store = await openAuditStore({ dataDir: process.argv[2]!, durability: 'batched', onError: (error) => process.stderr.write(`${error.message}\n`) });
const recording = store.beginSession({
  resource: 'prod-db',
  protocol: 'postgres',
  identity: { subject: 'child', issuer: 'sluice:token', method: 'token', groups: [] },
  clientAddress: '127.0.0.1:1',
  application: 'writer-child',
});
let n = 0;
await recording.event('query', { text: `SELECT ${++n}` });
process.stdout.write(`${recording.id}\n`);
setInterval(() => {
  for (let i = 0; i < 5; i++) void recording.event('query', { text: `SELECT ${++n}` });
}, 5);
