import type { IncomingMessage } from 'node:http';
import type { Config } from '../config/load.ts';
import type { TrustedIdentityProvider } from '../token-service/subject-token.ts';
import { ApprovalStore } from './approval-store.ts';
import { LoginSessions } from './login-sessions.ts';
import { LoginStore } from './login-store.ts';

/** Where users approve, relative to the gateway's public address. */
export const APPROVALS_PATH = '/_mandate/approvals';

/** Human approval of held calls: the store, the settings, and who can log in to approve. */
export interface Approvals {
  readonly store: ApprovalStore;
  readonly expiresSeconds: number;
  /** Most approvals waiting for one user at once (`approvals.max_pending_per_user`). */
  readonly maxPendingPerUser: number;
  /** The identity providers whose users' own access tokens authenticate an approver (the token service's). */
  readonly identityProviders: ReadonlyMap<string, TrustedIdentityProvider>;
  /** The approval page's logins and sessions; undefined when no identity provider has `approval_login`. */
  readonly sessions: LoginSessions | undefined;
  /** The gateway's address as users see it: `approvals.public_url`, or `http://` + the request's Host. */
  publicBase(req: IncomingMessage): string;
  close(): void;
}

export function openApprovals(
  config: Config,
  identityProviders: ReadonlyMap<string, TrustedIdentityProvider>,
  now: () => number,
): Approvals {
  const store = ApprovalStore.open(config.gateway.state_db);
  const settings = config.approvals;
  const login = config.identity_providers.find((idp) => idp.approval_login !== undefined);
  const publicBase = (req: IncomingMessage): string => {
    if (settings.public_url !== undefined) return settings.public_url.replace(/\/$/, '');
    // Host is the agent's claim; it only decides a link the agent hands its user, which the agent
    // could write itself anyway. Anything but host[:port] falls back to the configured listen address.
    const host = req.headers.host ?? '';
    return /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/.test(host)
      ? `http://${host}`
      : `http://${config.gateway.host}:${config.gateway.port}`;
  };
  let logins: LoginStore | undefined;
  try {
    logins = login ? LoginStore.open(config.gateway.state_db, now) : undefined;
  } catch (e) {
    store.close();
    throw e;
  }
  return {
    store,
    expiresSeconds: settings.expires_seconds,
    maxPendingPerUser: settings.max_pending_per_user,
    identityProviders,
    sessions: login && logins ? new LoginSessions(login, settings.session_seconds, logins, now) : undefined,
    publicBase,
    close: () => {
      logins?.close();
      store.close();
    },
  };
}
