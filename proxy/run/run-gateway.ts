import type { ApiInput, ApiOutput } from '../api/api-contract.js';
import { invokeApi } from '../api/api-dispatch.js';
import { printable } from '../common/printable.js';
import type { Config } from '../config/schema.js';
import { startEngine, type Engine } from '../engine/engine.js';
import type { Logger } from '../engine/logger.js';
import { heldSecrets } from '../exec/held-secrets.js';
import { ApiCallError, callApi, type ApiTarget } from '../cli/api-client.js';

// The gateway a `sluice run` talks to: a running one over its engine API (SLUICE_URL, --gateway),
// or an engine embedded in this process for the command's lifetime (--config). Both answer the
// same three calls, so the run does not care which it has.

export type RunMethod = 'runs.start' | 'runs.output' | 'runs.finish';

export interface RunGateway {
  /** For messages: the URL, or "embedded (FILE)". */
  readonly where: string;
  /** The host that reaches a listener bound to a wildcard address. */
  readonly host: string;
  /**
   * The upstream secrets this process holds (an embedded engine read them from the job's
   * environment or files): variables holding one are withheld from the command.
   */
  readonly secrets: readonly string[];
  call<N extends RunMethod>(credential: string, method: N, input: ApiInput<N>): Promise<ApiOutput<N>>;
  close(): Promise<void>;
}

export function remoteGateway(target: ApiTarget): RunGateway {
  return {
    where: target.base.origin,
    host: target.base.hostname.replace(/^\[|\]$/g, ''),
    secrets: [],
    call: (credential, method, input) => callApi(target, credential, method, input),
    close: async () => undefined,
  };
}

export async function embeddedGateway(config: Config, configFile: string, log: Logger, env: NodeJS.ProcessEnv): Promise<RunGateway> {
  const engine: Engine = await startEngine(config, { log, configFile, env });
  return {
    where: `embedded (${configFile})`,
    host: '127.0.0.1',
    secrets: heldSecrets(config),
    async call(credential, method, input) {
      let identity;
      try {
        identity = await engine.authenticate(credential);
      } catch (error) {
        throw new ApiCallError(`the gateway refused the credential: ${printable((error as Error).message)}`);
      }
      const result = await invokeApi(method, input, identity, { roles: config.roles, services: engine.apiServices, log }, 'local');
      if (!result.ok) throw new ApiCallError(printable(result.error.message));
      return result.value as ApiOutput<typeof method>;
    },
    close: () => engine.close(),
  };
}
