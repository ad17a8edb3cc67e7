import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.js';

// `sluice run` refusing before the command runs: said in one line, with a distinct exit code
// (2 for a wrong command line, 125 when sluice could not run the command), and nothing started.

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('sluice run refuses clearly', () => {
  it('when the gateway cannot be reached, without running the command', async () => {
    const port = await closedPort();
    const result = await runCli(['run', '--gateway', `http://127.0.0.1:${port}`, '--', 'touch', '/tmp/should-not-exist-sluice-run'], { env: { SLUICE_TOKEN: 'slu_x', PATH: process.env.PATH } });
    expect(result.code).toBe(125);
    expect(result.stderr).toMatch(new RegExp(`^sluice run: the gateway at http://127\\.0\\.0\\.1:${port} did not start the run: .*ECONNREFUSED`, 'm'));
  });

  it('on a wrong command line', async () => {
    const cases: [string[], RegExp][] = [
      [['run'], /which command\?/],
      [['run', '--gateway', 'http://127.0.0.1:1', '--config', 'x.yaml', '--', 'true'], /--gateway and --config contradict/],
      [['run', '--pty', '--no-pty', '--', 'true'], /--pty and --no-pty contradict/],
      [['run', '--max-duration', '3 days', '--', 'true'], /--max-duration 3 days is not a duration between 1s and 24h/],
    ];
    for (const [argv, message] of cases) {
      const result = await runCli(argv, { env: {} });
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr, argv.join(' ')).toMatch(message);
    }
  });
});
