// The baseline: the thinnest useful reverse proxy on the same stack (node:http + undici Pool,
// streaming both ways, the same response relay as Mandate), with no authentication, policy or
// audit. Prints {"port":N} when ready.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { relay } from '../../gateway/pipeline/5-forward/relay.ts';

const pool = new Pool(process.argv[2]!, { connections: 128 });
const server = createServer(async (req, res) => {
  try {
    const upstream = await pool.request({
      method: req.method as 'GET',
      path: req.url!,
      headers: { authorization: `Bearer ${process.argv[3] ?? 'bench'}` },
    });
    res.writeHead(upstream.statusCode, upstream.headers as Record<string, string>);
    await relay(upstream.body, res);
  } catch {
    res.destroy();
  }
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
