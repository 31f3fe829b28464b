import type { WebSocket } from 'ws';
import { documentRoutes } from './documents.ts';
import { type DemoBackend, type DemoRequest, sameSecret, sendJson, startDemoServer } from './server.ts';

/**
 * The demo procurement API: an "unmodified legacy backend". It accepts only its own service account
 * token (`Authorization: Bearer <serviceToken>`) and has never heard of users, agents or delegation.
 * `GET /contracts/{id}/events` is a WebSocket: the contract on connect, then each status change; a
 * `{"type":"ping","id":…}` message is answered with `{"type":"pong","id":…}`.
 * `POST /contracts/{id}/terminate` ends a contract for good (its body, e.g. a reason, is not read).
 * `POST /contracts/cancel?vendor=X` cancels every active contract of a vendor; `POST /purchase-orders`
 * books `{vendor, amount, currency}` (it knows nothing of the user's intent: that is Mandate's job).
 */

interface PurchaseOrder {
  readonly id: string;
  readonly vendor: string;
  readonly amount: number;
  readonly currency: string;
}

interface Contract {
  readonly id: string;
  readonly vendor: string;
  readonly title: string;
  status: 'active' | 'paused' | 'cancelled' | 'terminated';
}

const seed = (): Map<string, Contract> =>
  new Map(
    [
      { id: '12345', vendor: 'X', title: 'Contractor agreement — Acme Staffing', status: 'active' as const },
      { id: '12346', vendor: 'X', title: 'Office supplies', status: 'active' as const },
      { id: '12347', vendor: 'Y', title: 'Cloud hosting', status: 'active' as const },
    ].map((c) => [c.id, c]),
  );

export function startProcurement(options: {
  port?: number;
  host?: string;
  serviceToken: string;
}): Promise<DemoBackend> {
  const contracts = seed();
  const found = ({ res, params }: DemoRequest): Contract | undefined => {
    const contract = contracts.get(params[0] ?? '');
    if (contract === undefined) sendJson(res, 404, { error: 'not_found', message: 'no such contract' });
    return contract;
  };
  const orders: PurchaseOrder[] = [];
  const watchers = new Map<string, Set<WebSocket>>();
  const setStatus = (contract: Contract, status: Exclude<Contract['status'], 'active'>) => {
    contract.status = status;
    for (const ws of watchers.get(contract.id) ?? []) ws.send(JSON.stringify({ type: 'status_changed', contract }));
  };
  const transition = (status: Exclude<Contract['status'], 'active'>) => (req: DemoRequest) => {
    const contract = found(req);
    if (contract === undefined) return;
    if (contract.status === 'cancelled' || contract.status === 'terminated') {
      return sendJson(req.res, 409, { error: 'conflict', message: `contract is already ${contract.status}` });
    }
    setStatus(contract, status);
    sendJson(req.res, 200, contract);
  };
  const cancelAllOfVendor = ({ res, query }: DemoRequest) => {
    const vendor = query.get('vendor');
    if (vendor === null) return sendJson(res, 400, { error: 'bad_request', message: 'vendor is required' });
    const cancelled = [...contracts.values()].filter(
      (c) => c.vendor === vendor && (c.status === 'active' || c.status === 'paused'),
    );
    for (const contract of cancelled) setStatus(contract, 'cancelled');
    sendJson(res, 200, { cancelled });
  };
  const placeOrder = ({ res }: DemoRequest, body: Buffer) => {
    let order: Partial<PurchaseOrder>;
    try {
      order = JSON.parse(body.toString('utf8')) as Partial<PurchaseOrder>;
    } catch {
      return sendJson(res, 400, { error: 'bad_request', message: 'a JSON body is required' });
    }
    const { vendor, amount, currency } = order;
    if (typeof vendor !== 'string' || typeof amount !== 'number' || typeof currency !== 'string') {
      return sendJson(res, 400, { error: 'bad_request', message: 'vendor, amount and currency are required' });
    }
    const placed = { id: `po-${orders.length + 1}`, vendor, amount, currency };
    orders.push(placed);
    sendJson(res, 201, placed);
  };
  const watch = (ws: WebSocket, [id]: readonly string[]) => {
    const contract = contracts.get(id ?? '');
    if (contract === undefined) return ws.close(4404, 'no such contract');
    const set = watchers.get(contract.id) ?? new Set<WebSocket>();
    watchers.set(contract.id, set.add(ws));
    ws.on('close', () => set.delete(ws));
    ws.on('message', (data) => {
      let message: { type?: unknown; id?: unknown } | undefined;
      try {
        message = JSON.parse(String(data)) as typeof message;
      } catch {
        // answered below as an unexpected message
      }
      ws.send(
        JSON.stringify(
          message?.type === 'ping'
            ? { type: 'pong', id: message.id ?? null }
            : { type: 'error', message: 'expected {"type":"ping"}' },
        ),
      );
    });
    ws.send(JSON.stringify({ type: 'snapshot', contract }));
  };

  return startDemoServer({
    port: options.port ?? 4101,
    host: options.host ?? '127.0.0.1',
    authorized: (headers) => sameSecret(/^Bearer (.*)$/i.exec(headers.authorization ?? '')?.[1], options.serviceToken),
    challenge: 'Bearer realm="procurement"',
    routes: [
      {
        method: 'GET',
        path: /^\/contracts$/,
        handle: ({ res, query }) => {
          const vendor = query.get('vendor');
          sendJson(res, 200, {
            contracts: [...contracts.values()].filter((c) => vendor === null || c.vendor === vendor),
          });
        },
      },
      {
        method: 'GET',
        path: /^\/contracts\/([^/]+)$/,
        handle: (req) => {
          const contract = found(req);
          if (contract !== undefined) sendJson(req.res, 200, contract);
        },
      },
      {
        method: 'GET',
        path: /^\/contracts\/([^/]+)\/events$/,
        handle: ({ res }) =>
          sendJson(res, 426, { error: 'upgrade_required', message: 'a WebSocket endpoint' }, { upgrade: 'websocket' }),
      },
      { method: 'POST', path: /^\/contracts\/([^/]+)\/cancel$/, handle: transition('cancelled') },
      { method: 'POST', path: /^\/contracts\/([^/]+)\/pause$/, handle: transition('paused') },
      { method: 'POST', path: /^\/contracts\/([^/]+)\/terminate$/, handle: transition('terminated') },
      { method: 'POST', path: /^\/contracts\/cancel$/, handle: cancelAllOfVendor },
      { method: 'POST', path: /^\/purchase-orders$/, handle: placeOrder },
      ...documentRoutes,
    ],
    websockets: [{ path: /^\/contracts\/([^/]+)\/events$/, open: watch }],
  });
}
