import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, stringify } from 'yaml';
import { ConfigError, parseConfig } from '../../../gateway/config/load.ts';
import { ProtectedResources } from '../../../gateway/resource-metadata/protected-resources.ts';

const ROOT = join(import.meta.dirname, '../../..');

// biome-ignore lint/suspicious/noExplicitAny: routes.yaml as parsed YAML, edited freely by each test
type EditConfig = (config: Record<string, any>) => void;

/** The repository's routes.yaml with the procurement backend's audience and resource_metadata set. */
function withMetadata(audience: string, metadata: unknown, edit?: EditConfig) {
  const config = parse(readFileSync(join(ROOT, 'routes.yaml'), 'utf8'));
  const procurement = config.backends.find((b: { name: string }) => b.name === 'procurement');
  procurement.audience = audience;
  procurement.resource_metadata = metadata;
  edit?.(config);
  return parseConfig(stringify(config), '/etc/mandate/routes.yaml');
}

const problems = (audience: string, metadata: unknown, edit?: EditConfig) => {
  try {
    withMetadata(audience, metadata, edit);
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.problems.join('\n');
  }
  assert.fail('expected a configuration error');
};

test('resource_metadata: the document names the audience as the resource, the token service by default', () => {
  const config = withMetadata('https://gateway.example.com/procurement', {
    resource_name: 'Procurement',
    scopes_supported: ['procurement:read', 'procurement:write'],
    authorization_details_types_supported: ['procurement_contract'],
    resource_documentation: 'https://docs.example.com/procurement',
  });
  const resources = new ProtectedResources(config);
  assert.deepEqual(resources.document('/.well-known/oauth-protected-resource/procurement'), {
    resource: 'https://gateway.example.com/procurement',
    authorization_servers: [config.token_service!.issuer],
    bearer_methods_supported: ['header'],
    scopes_supported: ['procurement:read', 'procurement:write'],
    authorization_details_types_supported: ['procurement_contract'],
    resource_name: 'Procurement',
    resource_documentation: 'https://docs.example.com/procurement',
  });
  // Nothing else is published: not the root, not a backend without metadata, not a sub-path.
  assert.equal(resources.document('/.well-known/oauth-protected-resource'), undefined);
  assert.equal(resources.document('/.well-known/oauth-protected-resource/crm'), undefined);
  assert.equal(resources.document('/.well-known/oauth-protected-resource/procurement/contracts'), undefined);
});

test('resource_metadata: a refused call points to the metadata of the resource its path is under', () => {
  const resources = new ProtectedResources(withMetadata('https://gateway.example.com/procurement', {}));
  const url = 'https://gateway.example.com/.well-known/oauth-protected-resource/procurement';
  assert.equal(resources.metadataUrlFor('/procurement'), url);
  assert.equal(resources.metadataUrlFor('/procurement/contracts/12345?x=1'), url);
  assert.equal(resources.metadataUrlFor('/procurementx/contracts'), undefined, 'a segment boundary, not a prefix');
  assert.equal(resources.metadataUrlFor('/crm/customers/1'), undefined);

  // A resource at the origin: its metadata at the well-known path itself (RFC 9728 §3.1), for every path;
  // a more specific resource wins for its own paths.
  const both = new ProtectedResources(
    withMetadata('https://gateway.example.com/procurement', {}, (config) => {
      const crm = config.backends.find((b: { name: string }) => b.name === 'crm');
      crm.audience = 'https://gateway.example.com';
      crm.resource_metadata = { resource_name: 'CRM' };
    }),
  );
  assert.equal(
    both.metadataUrlFor('/crm/customers/1'),
    'https://gateway.example.com/.well-known/oauth-protected-resource',
  );
  assert.equal(both.metadataUrlFor('/procurement/contracts'), url);
  assert.equal(both.document('/.well-known/oauth-protected-resource')?.resource, 'https://gateway.example.com');
});

test('resource_metadata: the audience must be the URL a client would build the metadata URL from', () => {
  const expected =
    /backends\[0\]\.audience: with resource_metadata, the audience must be the backend's URL on the gateway/;
  for (const audience of [
    'https://procurement.demo.mandate/procurement?tenant=1', // a query
    'https://gateway.example.com/procurement#x', // a fragment
    'https://user@gateway.example.com/procurement', // user info
    'https://Gateway.example.com/procurement', // not lower-case
    'https://gateway.example.com:443/procurement', // a default port, normalised away
    'https://gateway.example.com/a/../procurement', // a dot segment
    'http://gateway.example.com/procurement', // plain http off this machine
    'urn:example:procurement', // not a URL on the gateway
  ]) {
    assert.match(problems(audience, {}), expected, audience);
  }
  // Plain http is accepted on a loopback host (tests, local development).
  assert.doesNotThrow(() => withMetadata('http://127.0.0.1:8080/procurement', {}));
});

test('resource_metadata: two backends at one metadata URL, or no authorization server, are refused', () => {
  assert.match(
    problems('https://gateway.example.com/shared', {}, (config) => {
      const crm = config.backends.find((b: { name: string }) => b.name === 'crm');
      crm.audience = 'https://gateway.example.com/shared';
      crm.resource_metadata = {};
    }),
    /backends\[1\]\.audience: backends\[0\] already has metadata at \/\.well-known\/oauth-protected-resource\/shared/,
  );
  assert.match(
    problems('https://gateway.example.com/procurement', {}, (config) => {
      delete config.token_service;
    }),
    /backends\[0\]\.resource_metadata\.authorization_servers: required without a token_service/,
  );
  assert.match(
    problems('https://gateway.example.com/procurement', { authorization_servers: [] }),
    /backends\[0\]\.resource_metadata\.authorization_servers/,
  );
  assert.match(problems('https://gateway.example.com/procurement', { scopes: ['x'] }), /scopes/);
});
