// A gateway in its own process (so its memory can be measured alone): starts the engine from the
// config file given as the only argument, prints `http listening on PORT`, stops on SIGTERM.
import { loadConfig } from '../../../proxy/config/load-config.js';
import { startEngine } from '../../../proxy/engine/engine.js';
import { createLogger } from '../../../proxy/engine/logger.js';

const configFile = process.argv[2];
if (!configFile) throw new Error('usage: gateway-child.ts CONFIG');
const { config } = await loadConfig(configFile, { env: process.env });
const engine = await startEngine(config, { log: createLogger((line) => process.stderr.write(line)), configFile });
process.stdout.write(`http listening on ${engine.http!.listeners[0]!.port}\n`);
process.once('SIGTERM', () => {
  void engine.close().then(() => process.exit(0));
});
