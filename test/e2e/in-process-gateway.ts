import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../gateway/config/load.ts';
import { createGateway, type Gateway, type GatewayOptions } from '../../gateway/gateway.ts';
import { createGatewayServer } from '../../gateway/server.ts';

/**
 * The gateway in this process rather than a child: for tests that read its objects (spans from a
 * registered tracer provider) or give it their own clock. `close` stops the server and the gateway.
 */
export async function startInProcessGateway(
  configFile: string,
  options: GatewayOptions = {},
): Promise<{ gw: Gateway; url: string; close(): Promise<void> }> {
  const gw = await createGateway(loadConfig(configFile), options);
  const { server, drain } = createGatewayServer(gw);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    gw,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await drain(0);
      await gw.close();
    },
  };
}
