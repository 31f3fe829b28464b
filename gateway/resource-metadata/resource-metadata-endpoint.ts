import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Gateway } from '../gateway.ts';
import { notFound, sendJson } from '../token-service/discovery.ts';

/** `GET /.well-known/oauth-protected-resource[/path]`: a backend's metadata (protected-resources.ts). */
export async function resourceMetadataEndpoint(gw: Gateway, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ error: 'method_not_allowed' }));
    return;
  }
  const document = gw.resources.document((req.url ?? '').split('?', 1)[0]!);
  if (document === undefined) return notFound(res);
  sendJson(res, document, 'public, max-age=300');
}
