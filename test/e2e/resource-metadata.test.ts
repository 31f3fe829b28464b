import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { ISSUER, type Stack, startStack } from './harness.ts';

// The procurement backend as an MCP deployment would name it: its URL on the gateway. The gateway
// serves it on 127.0.0.1; the client below reaches that address for this name, as it would through a
// TLS terminator, so the name it discovers and the audience it gets a token for are this one.
const RESOURCE = 'https://gateway.test/procurement';
const METADATA_URL = 'https://gateway.test/.well-known/oauth-protected-resource/procurement';

/**
 * RFC 9728 protected resource metadata, end to end with a client someone else wrote (oauth4webapi,
 * which openid-client is built on): a refused call's challenge points to the metadata, the metadata
 * names the resource (validated by the client, §3.3) and the authorization server, and a token for
 * that resource is what the gateway accepts.
 */
describe('protected resource metadata (RFC 9728)', () => {
  let stack: Stack;
  const fetched: string[] = [];
  const client = {
    [oauth.allowInsecureRequests]: true,
    [oauth.customFetch]: (url: string, init: RequestInit) => {
      fetched.push(url);
      return fetch(url.replace('https://gateway.test', stack.url), init);
    },
  };

  before(async () => {
    stack = await startStack({
      editConfig: (config) => {
        const procurement = config.backends.find((b: { name: string }) => b.name === 'procurement');
        procurement.audience = RESOURCE;
        procurement.resource_metadata = {
          resource_name: 'Procurement',
          authorization_servers: [ISSUER],
          scopes_supported: ['procurement:read', 'procurement:write'],
          authorization_details_types_supported: ['procurement_contract'],
        };
      },
    });
  });
  after(() => stack.stop());

  test('a call without a token is challenged with the metadata URL and no error code', async () => {
    const before = stack.procurement.received.length;
    const res = await fetch(`${stack.url}/procurement/contracts/12345`);
    assert.equal(res.status, 401);
    const body = (await res.json()) as { code: string; correlation_id: string };
    assert.equal(body.code, 'MANDATE_AUTHN_CREDENTIAL_MISSING');
    assert.equal(res.headers.get('www-authenticate'), `Bearer realm="mandate", resource_metadata="${METADATA_URL}"`);
    assert.equal(stack.procurement.received.length, before, 'never forwarded');
    const events = (await stack.auditRows()).filter((r) => r.correlation_id === body.correlation_id);
    assert.deepEqual(
      events.map((e) => [e.kind, e.reason]),
      [['denial', 'authn.credential_missing']],
    );
  });

  test('the client follows the challenge to the metadata and gets a token the gateway accepts', async () => {
    // An expired token: the client sees the challenge, parsed by its own WWW-Authenticate parser.
    const expired = await stack.alice({ audience: RESOURCE, issuedAt: Math.floor(Date.now() / 1000) - 600 });
    const challenged = await oauth
      .protectedResourceRequest(
        expired,
        'GET',
        new URL(`${stack.url}/procurement/contracts/12345`),
        undefined,
        undefined,
        client,
      )
      .then(
        () => assert.fail('expected a challenge'),
        (e: unknown) => e,
      );
    assert.ok(challenged instanceof oauth.WWWAuthenticateChallengeError);
    assert.equal(challenged.status, 401);
    const [challenge] = challenged.cause;
    assert.equal(challenge?.scheme, 'bearer');
    assert.equal(challenge?.parameters.error, 'invalid_token');
    assert.equal(challenge?.parameters.resource_metadata, METADATA_URL);

    // Discovery from the resource identifier: the client builds the well-known URL itself (§3.1) and
    // refuses a document whose `resource` is not the identifier it asked about (§3.3).
    fetched.length = 0;
    const metadata = await oauth.processResourceDiscoveryResponse(
      new URL(RESOURCE),
      await oauth.resourceDiscoveryRequest(new URL(RESOURCE), client),
    );
    assert.deepEqual(fetched, [METADATA_URL], 'the URL the challenge pointed to');
    assert.deepEqual(metadata, {
      resource: RESOURCE,
      authorization_servers: [ISSUER],
      bearer_methods_supported: ['header'],
      scopes_supported: ['procurement:read', 'procurement:write'],
      authorization_details_types_supported: ['procurement_contract'],
      resource_name: 'Procurement',
    });

    // A token for the discovered resource goes through, with the backend's own credential upstream.
    const before = stack.procurement.received.length;
    const token = await stack.alice({ audience: metadata.resource });
    const res = await oauth.protectedResourceRequest(
      token,
      'GET',
      new URL(`${stack.url}/procurement/contracts/12345`),
      undefined,
      undefined,
      client,
    );
    assert.equal(res.status, 200);
    const received = stack.procurement.received.slice(before);
    assert.equal(received.length, 1);
    assert.equal(received[0]!.headers.authorization, `Bearer ${stack.secrets.procurement}`);
  });

  test('a backend without metadata is challenged without it', async () => {
    const res = await fetch(`${stack.url}/crm/customers/c-100`);
    assert.equal(res.status, 401);
    await res.body?.cancel();
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="mandate"');
  });

  test('only the configured metadata is served, to GET and HEAD', async () => {
    const ok = await fetch(`${stack.url}/.well-known/oauth-protected-resource/procurement`, { method: 'HEAD' });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-type'), 'application/json');
    for (const path of ['', '/crm', '/procurement/contracts', '/Procurement']) {
      const res = await fetch(`${stack.url}/.well-known/oauth-protected-resource${path}`);
      assert.equal(res.status, 404, path);
      await res.body?.cancel();
    }
    const post = await fetch(`${stack.url}/.well-known/oauth-protected-resource/procurement`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    await post.body?.cancel();
  });
});
