import { Pool } from 'undici';
import type { BackendConfig } from '../../config/schema.ts';

/** One keep-alive connection pool per backend, created at start-up. */
export class UpstreamPools {
  readonly #pools = new Map<string, Pool>();

  constructor(backends: readonly BackendConfig[]) {
    for (const b of backends) {
      this.#pools.set(
        b.name,
        new Pool(new URL(b.url).origin, {
          connections: b.connections,
          connect: { timeout: b.timeouts.connect_ms },
          headersTimeout: b.timeouts.headers_ms,
          bodyTimeout: b.timeouts.body_ms,
          keepAliveTimeout: 30_000,
        }),
      );
    }
  }

  get(backend: string): Pool {
    const pool = this.#pools.get(backend);
    if (!pool) throw new Error(`no pool for backend ${backend}`);
    return pool;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.close()));
  }
}
