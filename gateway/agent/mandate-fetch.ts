import { MandateAgentError, readRefusal } from './refusal.ts';

/**
 * A `fetch` for tool calls through Mandate: relative URLs resolve against Mandate's base URL; a
 * request to any other origin is refused before the delegation is even looked up (the token is
 * never attached to it); Mandate's own refusals are thrown as MandateRefusal. Redirects are not
 * followed (`manual`, unless the caller asked for `error`): a redirect relayed from a backend points
 * into the backend's address space, and following it would carry the token there.
 */
export function mandateFetch(
  base: URL,
  bearer: () => Promise<string>,
  baseFetch: typeof globalThis.fetch = globalThis.fetch,
): typeof globalThis.fetch {
  return async (input, init) => {
    const target = input instanceof Request ? input : new URL(input, base);
    const request = new Request(target, init);
    if (new URL(request.url).origin !== base.origin) {
      throw new MandateAgentError(
        'ERR_MANDATE_FOREIGN_ORIGIN',
        `refusing to send the delegation to ${new URL(request.url).origin}: only to Mandate at ${base.origin}`,
      );
    }
    const headers = new Headers(request.headers);
    headers.set('authorization', `Bearer ${await bearer()}`);
    const response = await baseFetch(
      new Request(request, {
        headers,
        redirect: request.redirect === 'error' ? 'error' : 'manual',
        // Needed when the body is a stream (undici); harmless otherwise.
        duplex: 'half',
      } as RequestInit),
    );
    const refusal = await readRefusal(response);
    if (refusal) throw refusal;
    return response;
  };
}
