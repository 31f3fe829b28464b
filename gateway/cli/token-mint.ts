import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.ts';
import { ensureDevKeys } from '../dev/dev-keys.ts';
import { mintDelegationToken } from '../dev/mint.ts';

const usage = `usage: mandate token mint --config routes.yaml --sub USER --agent AGENT[,PREVIOUS…] --aud AUDIENCE
         [--scope "a b"] [--details JSON] [--txn ID] [--intent TEXT] [--claims JSON] [--ttl SECONDS]
Development only: signs a delegation token with the local dev key (dev.keys_dir in the config).`;

/** `mandate token mint` — prints a development delegation token for trying the gateway with curl. */
export async function run(args: string[]): Promise<number> {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args,
      options: {
        config: { type: 'string', default: 'routes.yaml' },
        sub: { type: 'string' },
        agent: { type: 'string' },
        aud: { type: 'string' },
        scope: { type: 'string' },
        details: { type: 'string' },
        txn: { type: 'string' },
        intent: { type: 'string' },
        claims: { type: 'string' },
        ttl: { type: 'string', default: '300' },
      },
    }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${usage}\n`);
    return 2;
  }
  if (!values.sub || !values.agent || !values.aud) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const config = loadConfig(values.config!);
  if (!config.dev) {
    process.stderr.write('the configuration has no dev section: token minting is for development only\n');
    return 2;
  }
  const key = await ensureDevKeys(config.dev.keys_dir);
  const token = await mintDelegationToken(key, {
    issuer: config.dev.issuer,
    user: values.sub,
    agents: values.agent.split(','),
    audience: values.aud,
    ...(values.scope ? { scope: values.scope } : {}),
    ...(values.details ? { authorizationDetails: JSON.parse(values.details) } : {}),
    ...(values.txn ? { txn: values.txn } : {}),
    ...(values.intent ? { intent: values.intent } : {}),
    ...(values.claims ? { extra: JSON.parse(values.claims) } : {}),
    ttlSeconds: Number(values.ttl),
  });
  process.stdout.write(`${token}\n`);
  return 0;
}
