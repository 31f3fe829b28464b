import type { Duplex } from 'node:stream';

/**
 * Upgrades in progress and tunnels open. Node's HTTP server forgets a connection once it is upgraded
 * (`closeAllConnections` does not reach it), so shutdown closes these itself and waits for each one's
 * outcome event before the audit log closes.
 */
export class OpenTunnels {
  readonly #open = new Map<Duplex, Promise<void>>();

  /** `handled` is the whole upgrade, outcome event included; it must not reject. */
  track(socket: Duplex, handled: Promise<void>): void {
    this.#open.set(socket, handled);
    void handled.then(() => this.#open.delete(socket));
  }

  async closeAll(): Promise<void> {
    for (const socket of this.#open.keys()) socket.destroy();
    await Promise.all(this.#open.values());
  }
}
