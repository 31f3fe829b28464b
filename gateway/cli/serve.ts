import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.ts';
import { startDemo } from '../dev/demo-mode.ts';
import { createGateway } from '../gateway.ts';
import { createGatewayServer } from '../server.ts';
import { log } from '../telemetry/log.ts';
import { installOtlpExportFromEnv } from '../telemetry/otlp.ts';

const usage = 'usage: mandate serve --config routes.yaml [--port N] [--host H] [--demo]';

/**
 * `mandate serve` — runs the gateway until SIGINT/SIGTERM. `--demo` also starts the bundled demo
 * backends and creates the development key and credentials on first run. Logs one JSON line
 * `{"msg":"listening","port":…}` when ready.
 */
export async function run(args: string[]): Promise<number> {
  let values: { config: string; port?: string; host?: string; demo?: boolean };
  try {
    values = parseArgs({
      args,
      options: {
        config: { type: 'string', default: 'routes.yaml' },
        port: { type: 'string' },
        host: { type: 'string' },
        demo: { type: 'boolean', default: false },
      },
    }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${usage}\n`);
    return 2;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(values.config);
  } catch (e) {
    process.stderr.write(`${e instanceof ConfigError ? e.message : (e as Error).message}\n`);
    return 1;
  }
  // A write past the file-size limit (RLIMIT_FSIZE, a quota) raises SIGXFSZ, whose default action
  // kills the process. Handled, the write fails with EFBIG instead: SQLite reports a full disk, the
  // audit append fails, and requests are refused with 503 until there is room again — fail closed,
  // and still up to recover without a restart.
  process.on('SIGXFSZ', () => log.error('file size limit reached: audit writes are failing'));
  const shutdownTracing = installOtlpExportFromEnv();
  const demo = values.demo ? await startDemo(config) : undefined;
  const gateway = await createGateway(config);
  const { server, drain } = createGatewayServer(gateway);
  server.listen(
    values.port === undefined ? config.gateway.port : Number(values.port),
    values.host ?? config.gateway.host,
  );
  await once(server, 'listening');
  const { address, port } = server.address() as AddressInfo;
  log.info({ address, port, policyRevision: gateway.policy.revision, demo: Boolean(demo) }, 'listening');

  const signal = await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
  log.info({ signal: String(signal[0] ?? '') }, 'shutting down');
  await drain(config.gateway.shutdown_grace_seconds * 1000);
  await gateway.close();
  await demo?.close();
  await shutdownTracing();
  return 0;
}
