import { MandateError } from '../../errors.ts';
import type { RouteMatch } from './route-match.ts';

/**
 * A tunnel outlives the one authorization that opened it, so only routes that opted in
 * (`websocket: true` in routes.yaml) may open one (STANDARDS §7.1: authorize once, pin the route).
 * 403, as Envoy answers an upgrade its route is not configured for.
 *
 * @throws MandateError MANDATE_UPGRADE_NOT_ALLOWED
 */
export function assertWebSocketRoute(match: RouteMatch): void {
  if (!match.websocket) {
    throw new MandateError('MANDATE_UPGRADE_NOT_ALLOWED', `${match.template} does not accept WebSocket upgrades`);
  }
}
