import { type DemoBackend, type DemoRequest, sameSecret, sendJson, startDemoServer } from './server.ts';

/**
 * The demo CRM API: an "unmodified legacy backend" that accepts only its own API key (`x-api-key`)
 * and has never heard of users, agents or delegation.
 */

interface Customer {
  readonly id: string;
  readonly region: string;
  name: string;
  email: string;
}

/** The only fields a PATCH may change. */
const EDITABLE = new Set(['name', 'email']);

const seed = (): Map<string, Customer> =>
  new Map(
    [
      { id: '9821', region: 'emea', name: 'Greta Lindqvist', email: 'greta.lindqvist@example.com' },
      { id: '9822', region: 'amer', name: 'Dan Okafor', email: 'dan.okafor@example.com' },
    ].map((c) => [c.id, c]),
  );

export function startCrm(options: { port?: number; host?: string; apiKey: string }): Promise<DemoBackend> {
  const customers = seed();
  const found = ({ res, params: [region, id] }: DemoRequest): Customer | undefined => {
    const customer = customers.get(id ?? '');
    if (customer?.region === region) return customer;
    sendJson(res, 404, { error: 'not_found', message: 'no such customer in this region' });
    return undefined;
  };
  const path = /^\/regions\/([^/]+)\/customers\/([^/]+)$/;

  return startDemoServer({
    port: options.port ?? 4102,
    host: options.host ?? '127.0.0.1',
    authorized: ({ 'x-api-key': key }) => sameSecret(typeof key === 'string' ? key : undefined, options.apiKey),
    routes: [
      {
        method: 'GET',
        path,
        handle: (req) => {
          const customer = found(req);
          if (customer !== undefined) sendJson(req.res, 200, customer);
        },
      },
      {
        method: 'PATCH',
        path,
        handle: (req, body) => {
          const customer = found(req);
          if (customer === undefined) return;
          const changes = parseChanges(body);
          if (typeof changes === 'string') return sendJson(req.res, 400, { error: 'bad_request', message: changes });
          Object.assign(customer, changes);
          sendJson(req.res, 200, customer);
        },
      },
    ],
  });
}

/** The fields to merge, or why the body is refused. */
function parseChanges(body: Buffer): Partial<Pick<Customer, 'name' | 'email'>> | string {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return 'body is not valid JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'body must be a JSON object';
  const changes: Record<string, string> = {};
  for (const [key, field] of Object.entries(value)) {
    if (!EDITABLE.has(key)) return `field "${key}" cannot be changed (editable: name, email)`;
    if (typeof field !== 'string' || field === '') return `field "${key}" must be a non-empty string`;
    changes[key] = field;
  }
  return changes;
}
