import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import type { JWK } from 'jose';
import { Authenticator } from '../../../gateway/pipeline/1-authenticate/authenticate.ts';
import type { JwksFetchEvent } from '../../../gateway/pipeline/1-authenticate/remote-key-set.ts';
import { assertRefused, bearer, Clock, claims, configWith, ISSUER, mint, signingKey } from './fixtures.ts';

/** A JWKS endpoint on 127.0.0.1:0 whose answer the test controls, counting requests. */
class KeyServer {
  hits = 0;
  body = '';
  status = 200;
  readonly #server: Server;

  private constructor() {
    this.#server = createServer((_req, res) => {
      this.hits++;
      res.writeHead(this.status, { 'content-type': 'application/json' }).end(this.body);
    });
  }

  static async start(keys: readonly JWK[]): Promise<KeyServer> {
    const server = new KeyServer();
    server.serve(keys);
    await new Promise<void>((resolve) => server.#server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/jwks.json`;
  }

  serve(keys: readonly JWK[]): void {
    this.body = JSON.stringify({ keys });
  }

  async stop(): Promise<void> {
    const closed = new Promise((resolve) => this.#server.close(resolve));
    this.#server.closeAllConnections();
    await closed;
  }
}

/** A port nothing listens on. */
async function deadUrl(): Promise<string> {
  const server = await KeyServer.start([]);
  const url = server.url;
  await server.stop();
  return url;
}

const authenticators: Authenticator[] = [];
after(() => {
  for (const authenticator of authenticators) authenticator.close();
});

async function authenticatorFor(url: string, clock: Clock, jwks: Record<string, number> = {}) {
  const issuer = { issuer: ISSUER, jwks: { url, refresh_seconds: 300, timeout_ms: 1000, ...jwks } };
  const authenticator = await Authenticator.create(configWith([issuer]), { now: clock.now });
  authenticators.push(authenticator);
  return authenticator;
}

/** Resolves with the next `mandate:authn:jwks` event matching `outcome`. */
function nextFetch(outcome: JwksFetchEvent['outcome']): Promise<JwksFetchEvent> {
  return new Promise((resolve) => {
    const listener = (message: unknown) => {
      if ((message as JwksFetchEvent).outcome !== outcome) return;
      unsubscribe('mandate:authn:jwks', listener);
      resolve(message as JwksFetchEvent);
    };
    subscribe('mandate:authn:jwks', listener);
  });
}

describe('remote JWKS (jwks.url)', () => {
  it('fetches the keys at start and verifies with them', async () => {
    const key = await signingKey('a');
    const server = await KeyServer.start([key.publicJwk]);
    const clock = new Clock();
    const authenticator = await authenticatorFor(server.url, clock);
    assert.equal(server.hits, 1);
    assert.equal((await authenticator.authenticate(bearer(await mint(key, claims(clock.seconds))))).user, 'alice');
    await server.stop();
  });

  it('keeps verifying with the last good keys while the key server is down', async () => {
    const key = await signingKey('a');
    const server = await KeyServer.start([key.publicJwk]);
    const clock = new Clock();
    const authenticator = await authenticatorFor(server.url, clock);
    await server.stop();

    clock.seconds += 31; // past the on-demand cooldown: an unknown kid makes it try the dead server
    const failed = nextFetch('failed');
    const stranger = await signingKey('unknown');
    await assertRefused(
      authenticator.authenticate(bearer(await mint(stranger, claims(clock.seconds)))),
      'MANDATE_AUTHN_SIGNATURE_INVALID',
    );
    assert.equal((await failed).issuer, ISSUER);

    const fresh = await mint(key, claims(clock.seconds)); // new jti: not in the cache
    assert.equal((await authenticator.authenticate(bearer(fresh))).user, 'alice');
    assert.equal(authenticator.cacheHits, 0);
  });

  it('fails closed with KEYS_UNAVAILABLE for an issuer whose key server was never reachable', async () => {
    const clock = new Clock();
    const authenticator = await authenticatorFor(await deadUrl(), clock);
    const key = await signingKey('a');
    await assertRefused(
      authenticator.authenticate(bearer(await mint(key, claims(clock.seconds)))),
      'MANDATE_AUTHN_KEYS_UNAVAILABLE',
    );
  });

  it('does not block start-up on a key server that never answers', async () => {
    const silent = createServer(() => {}); // accepts, never responds
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/jwks.json`;
    const started = performance.now();
    const clock = new Clock();
    const authenticator = await authenticatorFor(url, clock, { timeout_ms: 200 });
    assert.ok(performance.now() - started < 2000);
    const key = await signingKey('a');
    await assertRefused(
      authenticator.authenticate(bearer(await mint(key, claims(clock.seconds)))),
      'MANDATE_AUTHN_KEYS_UNAVAILABLE',
    );
    silent.closeAllConnections();
    silent.close();
  });

  it('refuses unusable answers (HTTP 500, invalid JSON, no usable key, over 1 MiB) and recovers once the server is fixed', async () => {
    const key = await signingKey('a');
    const server = await KeyServer.start([]);
    const clock = new Clock();
    for (const broken of [
      () => {
        server.status = 500;
        server.serve([key.publicJwk]);
      },
      () => {
        server.status = 200;
        server.body = '{"keys": [';
      },
      () => server.serve([{ kty: 'oct', k: 'c2VjcmV0', kid: 'a' }]),
      () => server.serve([{ ...key.publicJwk, use: 'enc' }]),
      () => {
        server.body = '{"keys": "none"}';
      },
      () => {
        server.body = JSON.stringify({ keys: [key.publicJwk], padding: 'x'.repeat(1024 * 1024) });
      },
    ]) {
      broken();
      const authenticator = await authenticatorFor(server.url, clock);
      await assertRefused(
        authenticator.authenticate(bearer(await mint(key, claims(clock.seconds)))),
        'MANDATE_AUTHN_KEYS_UNAVAILABLE',
      );
    }
    const authenticator = authenticators.at(-1) as Authenticator;
    server.serve([key.publicJwk]);
    clock.seconds += 31;
    assert.equal((await authenticator.authenticate(bearer(await mint(key, claims(clock.seconds))))).user, 'alice');
    await server.stop();
  });

  it('follows a key rotation: an unknown kid triggers a refresh, rate-limited by a cooldown', async () => {
    const [oldKey, newKey] = [await signingKey('2030-01'), await signingKey('2030-02')];
    const server = await KeyServer.start([oldKey.publicJwk]);
    const clock = new Clock();
    const authenticator = await authenticatorFor(server.url, clock);
    server.serve([oldKey.publicJwk, newKey.publicJwk]);

    // Within the cooldown after the start-up fetch: a flood of unknown kids costs the key server nothing.
    for (let i = 0; i < 20; i++) {
      const bogus = await signingKey(`bogus-${i}`);
      await assertRefused(
        authenticator.authenticate(bearer(await mint(bogus, claims(clock.seconds)))),
        'MANDATE_AUTHN_SIGNATURE_INVALID',
      );
    }
    assert.equal(server.hits, 1);

    clock.seconds += 31;
    const rotated = await mint(newKey, claims(clock.seconds));
    const [first, second] = await Promise.all([
      authenticator.authenticate(bearer(rotated)),
      authenticator.authenticate(bearer(await mint(newKey, claims(clock.seconds)))),
    ]);
    assert.equal(first.user, 'alice');
    assert.equal(second.user, 'alice');
    assert.equal(server.hits, 2); // concurrent misses share one fetch
    await server.stop();
  });

  it('drops cached principals when the issuer withdraws a key', async () => {
    const [oldKey, newKey] = [await signingKey('old'), await signingKey('new')];
    const server = await KeyServer.start([oldKey.publicJwk]);
    const clock = new Clock();
    const authenticator = await authenticatorFor(server.url, clock);
    const oldToken = await mint(oldKey, claims(clock.seconds));
    await authenticator.authenticate(bearer(oldToken));
    await authenticator.authenticate(bearer(oldToken));
    assert.equal(authenticator.cacheHits, 1);

    server.serve([newKey.publicJwk]); // old key withdrawn (compromised?)
    clock.seconds += 31;
    await authenticator.authenticate(bearer(await mint(newKey, claims(clock.seconds))));
    await assertRefused(authenticator.authenticate(bearer(oldToken)), 'MANDATE_AUTHN_SIGNATURE_INVALID');
    assert.equal(authenticator.cacheHits, 1);
    await server.stop();
  });

  it('refreshes in the background every refresh_seconds, keeping the last good keys on failure', async () => {
    const [oldKey, newKey] = [await signingKey('old'), await signingKey('new')];
    const server = await KeyServer.start([oldKey.publicJwk]);
    const clock = new Clock(); // never advanced: no on-demand refresh can happen
    const authenticator = await authenticatorFor(server.url, clock, { refresh_seconds: 1 });

    const loaded = nextFetch('loaded');
    server.serve([oldKey.publicJwk, newKey.publicJwk]);
    assert.equal((await loaded).keys, 2);
    assert.equal((await authenticator.authenticate(bearer(await mint(newKey, claims(clock.seconds))))).user, 'alice');

    const failed = nextFetch('failed');
    await server.stop();
    await failed;
    assert.equal((await authenticator.authenticate(bearer(await mint(oldKey, claims(clock.seconds))))).user, 'alice');
  });
});
