import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { exportJWK, generateKeyPair } from 'jose';
import { parse, stringify } from 'yaml';
import { startCrm } from '../../gateway/demo/crm.ts';
import { startProcurement } from '../../gateway/demo/procurement.ts';
import type { DemoBackend } from '../../gateway/demo/server.ts';
import type { DevKey } from '../../gateway/dev/dev-keys.ts';
import { type DelegationClaims, mintDelegationToken } from '../../gateway/dev/mint.ts';
import { tempDir } from '../temp-dir.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const ISSUER = 'https://idp.test.mandate';
export const PROCUREMENT_AUD = 'https://procurement.demo.mandate';
export const CRM_AUD = 'https://crm.demo.mandate';

/** A real key server on 127.0.0.1: serves the test issuer's JWKS. */
export async function startKeyServer(): Promise<{ url: string; key: DevKey; server: Server }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = `test-${randomBytes(4).toString('hex')}`;
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] });
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(jwks);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    key: { kid, privateKey },
    server,
  };
}

export interface Stack {
  readonly url: string;
  readonly dir: string;
  readonly auditDb: string;
  readonly configFile: string;
  readonly procurement: DemoBackend;
  readonly crm: DemoBackend;
  readonly secrets: { procurement: string; crm: string };
  readonly gateway: ChildProcess;
  readonly logs: string[];
  readonly keyServerUrl: string;
  keyServerKid(): Promise<string>;
  /** Sends bytes exactly as given (clients normalise paths and headers) and returns the raw response. */
  rawRequest(bytes: string): Promise<string>;
  token(claims: Partial<DelegationClaims> & { audience?: string }): Promise<string>;
  alice(overrides?: Partial<DelegationClaims>): Promise<string>;
  bob(overrides?: Partial<DelegationClaims>): Promise<string>;
  /**
   * All audit rows, once every allowed call's outcome event is committed: the outcome is written
   * after the response has gone out, so a test reading right after a response must wait for it.
   */
  auditRows(): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Edit the generated routes.yaml object before the gateway starts. */
  // biome-ignore lint/suspicious/noExplicitAny: routes.yaml as parsed YAML, edited freely by each test
  readonly editConfig?: (config: Record<string, any>) => void;
  readonly env?: Record<string, string>;
}

// --- Test servers and routes.yaml: one set-up for startStack and for tests that run the gateway in-process.

/** What a test gateway is pointed at: the key server, the two demo backends and their secrets. */
export interface TestServers {
  readonly keys: Awaited<ReturnType<typeof startKeyServer>>;
  readonly procurement: DemoBackend;
  readonly crm: DemoBackend;
  readonly secrets: { procurement: string; crm: string };
  close(): Promise<void>;
}

/** The key server and both demo backends on 127.0.0.1, each backend with a fresh secret. */
export async function startTestServers(): Promise<TestServers> {
  const keys = await startKeyServer();
  const secrets = { procurement: randomBytes(24).toString('base64url'), crm: randomBytes(24).toString('base64url') };
  const procurement = await startProcurement({ port: 0, serviceToken: secrets.procurement });
  const crm = await startCrm({ port: 0, apiKey: secrets.crm });
  return {
    keys,
    procurement,
    crm,
    secrets,
    async close() {
      await Promise.all([procurement.close(), crm.close()]);
      keys.server.close();
    },
  };
}

/**
 * The repository's routes.yaml as a test runs it, written to `dir/routes.yaml`: the test's issuer and
 * key server, its backends and their secrets (files in `dir`), an audit database in `dir`, and
 * without the demo's sections that need files or would get in a test's way. `editConfig` edits the
 * result before it is written.
 */
export function writeTestConfig(
  dir: string,
  servers: TestServers,
  editConfig?: StackOptions['editConfig'],
): { config: Parameters<NonNullable<StackOptions['editConfig']>>[0]; configFile: string } {
  const { keys, procurement, crm, secrets } = servers;
  writeFileSync(join(dir, 'procurement.token'), secrets.procurement);
  writeFileSync(join(dir, 'crm.key'), secrets.crm);

  const config = parse(readFileSync(join(ROOT, 'routes.yaml'), 'utf8'));
  delete config.dev;
  // The token service's demo sections point at ./data files; token-exchange tests configure their own.
  delete config.token_service;
  delete config.identity_providers;
  delete config.agents;
  // The demo's behavioural limits would cut off tests that make many calls with one txn; limits.test.ts sets its own.
  delete config.limits;
  config.gateway.audit_db = join(dir, 'audit.db');
  config.gateway.policy_bundle = join(ROOT, '.build/policy');
  config.issuers = [
    { issuer: ISSUER, jwks: { url: keys.url }, algorithms: ['ES256'], user_claims: ['roles', 'region'] },
  ];
  for (const b of config.backends) {
    b.url = b.name === 'procurement' ? procurement.url : crm.url;
    b.credential.secret = `file:${join(dir, b.name === 'procurement' ? 'procurement.token' : 'crm.key')}`;
  }
  editConfig?.(config);
  const configFile = join(dir, 'routes.yaml');
  writeFileSync(configFile, stringify(config));
  return { config, configFile };
}

/**
 * The whole system on real processes: the gateway as a child process (`mandate serve`) on port 0,
 * the demo backends and the key server as real HTTP servers in the test process, routes.yaml
 * derived from the repository's own with the test's addresses, keys and temp audit database.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dir = tempDir('mandate-e2e-');
  const servers = await startTestServers();
  const { keys, procurement, crm, secrets } = servers;
  const { config, configFile } = writeTestConfig(dir, servers, options.editConfig);

  const { gateway, port, logs } = await startGatewayProcess(configFile, options.env);
  const url = `http://127.0.0.1:${port}`;
  const token = (claims: Partial<DelegationClaims> & { audience?: string }) =>
    mintDelegationToken(keys.key, {
      issuer: ISSUER,
      user: 'alice',
      agents: ['hr-agent'],
      audience: PROCUREMENT_AUD,
      ...claims,
    });
  return {
    url,
    dir,
    auditDb: config.gateway.audit_db,
    configFile,
    procurement,
    crm,
    secrets,
    gateway,
    logs,
    keyServerUrl: keys.url,
    keyServerKid: async () => keys.key.kid,
    rawRequest: (bytes) => rawRequest(port, bytes),
    token,
    alice: (o = {}) =>
      token({
        user: 'alice',
        agents: ['hr-agent'],
        audience: PROCUREMENT_AUD,
        scope: 'procurement:read procurement:write',
        authorizationDetails: [{ type: 'procurement_contract', actions: ['cancel'], identifier: '12345' }],
        intent: 'cancel my contractor agreement with vendor X',
        txn: 'task-alice-1',
        extra: { roles: ['procurement'] },
        ...o,
      }),
    bob: (o = {}) =>
      token({
        user: 'bob',
        agents: ['support-agent'],
        audience: CRM_AUD,
        scope: 'crm:read',
        extra: { roles: ['support'], region: 'emea' },
        ...o,
      }),
    async auditRows() {
      for (let attempt = 0; ; attempt++) {
        const db = new Database(config.gateway.audit_db, { readonly: true });
        let rows: Record<string, unknown>[];
        try {
          rows = db.prepare('SELECT * FROM all_events ORDER BY seq').all() as Record<string, unknown>[];
        } finally {
          db.close();
        }
        const outcomes = new Set(rows.filter((r) => r.kind === 'outcome').map((r) => r.correlation_id));
        const settled = rows.every((r) => r.kind !== 'decision' || outcomes.has(r.correlation_id));
        if (settled || attempt >= 50) return rows;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      if (gateway.exitCode === null && gateway.signalCode === null) {
        gateway.kill('SIGTERM');
        await once(gateway, 'exit');
      }
      await servers.close();
    },
  };
}

/**
 * `mandate serve --config configFile` as a child process on port 0; resolves once it listens. Tests
 * that restart the gateway (crash, revocation persistence) start a second one on the same file.
 */
export async function startGatewayProcess(
  configFile: string,
  env: Record<string, string> = {},
): Promise<{ gateway: ChildProcess; port: number; logs: string[] }> {
  const gateway = spawn(
    process.execPath,
    [join(ROOT, 'gateway/main.ts'), 'serve', '--config', configFile, '--port', '0'],
    {
      cwd: ROOT,
      env: { ...process.env, MANDATE_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: string[] = [];
  const stderr: string[] = [];
  gateway.stderr!.on('data', (c: Buffer) => stderr.push(c.toString()));
  const port = await new Promise<number>((resolvePort, reject) => {
    const lines = createInterface({ input: gateway.stdout! });
    lines.on('line', (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === 'listening' && entry.port) resolvePort(entry.port);
      } catch {
        // not a JSON log line
      }
    });
    gateway.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${stderr.join('')}`)));
  });

  return { gateway, port, logs };
}

/** Writes raw bytes to the gateway and collects everything until the server closes the connection. */
export function rawRequest(port: number, bytes: string): Promise<string> {
  return new Promise((done, fail) => {
    // write, not end: a half-closed client makes Node abort requests still in flight.
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let out = '';
    socket.on('data', (c: Buffer) => (out += c.toString('latin1')));
    socket.on('close', () => done(out));
    socket.on('error', fail);
    socket.setTimeout(10_000, () => socket.destroy(new Error('raw request timed out')));
  });
}

/**
 * A WebSocket opening handshake (RFC 6455 §4.1) exactly as written, for `rawRequest`: clients refuse to
 * send some of what the tests send (h2c, HTTP/1.0, forged headers).
 */
export function websocketHandshake(path: string, lines: readonly string[], version = '1.1'): string {
  return [
    `GET ${path} HTTP/${version}`,
    'Host: gateway.test',
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ...lines,
    '',
    '',
  ].join('\r\n');
}

/** Runs `mandate <args>` as a real process. */
export function mandateCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'gateway/main.ts'), ...args], { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((done) => child.on('close', (code) => done({ code: code ?? -1, stdout, stderr })));
}

/**
 * A full disk, without filling one: a file-size limit on the running gateway (prlimit, no root
 * needed) makes every write past `bytes` fail with EFBIG, which SQLite reports as a full disk. Only
 * the soft limit moves (the hard one stays unlimited), so `'unlimited'` lifts it again unprivileged.
 */
export function limitFileSize(pid: number, bytes: number | 'unlimited'): void {
  execFileSync('prlimit', ['--pid', String(pid), `--fsize=${bytes}:unlimited`]);
}
