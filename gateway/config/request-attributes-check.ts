import type { RouteConfig } from './schema.ts';

/** Methods whose requests carry a body a policy can read (RFC 9110 §9.3: GET, HEAD, OPTIONS do not). */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const FORBIDDEN_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

/** Checks the schema cannot express, for routes[i] (`at`). */
export function crossCheckRequestAttributes(route: RouteConfig, at: string): string[] {
  const problems: string[] = [];
  const names: [string, readonly string[]][] = [
    ['query', route.query],
    ['body.fields', route.body?.fields ?? []],
  ];
  for (const [key, list] of names) {
    if (new Set(list).size !== list.length) problems.push(`${at}.${key}: a name appears twice`);
    for (const name of list) {
      if (FORBIDDEN_NAMES.has(name)) problems.push(`${at}.${key}: "${name}" is not allowed as a name`);
    }
  }
  if (route.body !== undefined && !BODY_METHODS.has(route.method)) {
    problems.push(`${at}.body: a ${route.method} request carries no body to read`);
  }
  if (route.body !== undefined && route.websocket) {
    problems.push(`${at}.body: a WebSocket route has no request body`);
  }
  return problems;
}
