import type { IncomingMessage } from 'node:http';
import { selectQueryParams } from './query-params.ts';
import { type RequestBody, readRequestBody } from './request-body.ts';
import type { RouteMatch } from './route-match.ts';

/** What of the request itself the route exposes to policy, beyond its path parameters. */
export interface RequestAttributes {
  /** The route's `query` names, each decoded or null when absent. */
  readonly queryParams: Readonly<Record<string, string | null>>;
  /** The buffered body of a route with `body:`; undefined when the body is streamed untouched. */
  readonly body: RequestBody | undefined;
}

/**
 * Stage 2b: reads the query parameters and the bounded JSON body the matched route asks for, so the
 * policy can bind the token's intent to them (vendor, amount, currency). Throws the MandateErrors of
 * selectQueryParams and readRequestBody.
 */
export async function readRequestAttributes(req: IncomingMessage, match: RouteMatch): Promise<RequestAttributes> {
  const queryParams = selectQueryParams(match.query, match.attributes.query);
  return { queryParams, body: await readRequestBody(req, match.attributes.body) };
}
