import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../../gateway/config/load.ts';
import { MandateError } from '../../../gateway/errors.ts';
import { compileRouteTable } from '../../../gateway/pipeline/2-resolve/route-table.ts';
import { assertWebSocketRoute } from '../../../gateway/pipeline/2-resolve/websocket-route.ts';

const demo = compileRouteTable(loadConfig(new URL('../../../routes.yaml', import.meta.url).pathname));

test('only a route with websocket: true accepts an upgrade', () => {
  assertWebSocketRoute(demo.resolve('GET', '/procurement/contracts/12345/events'));
  assert.throws(
    () => assertWebSocketRoute(demo.resolve('GET', '/procurement/contracts/12345')),
    (e: unknown) => e instanceof MandateError && e.code === 'MANDATE_UPGRADE_NOT_ALLOWED' && e.entry.status === 403,
  );
});
