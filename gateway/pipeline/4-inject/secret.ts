import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';

/**
 * A secret value that cannot leak by accident: it prints, serialises and inspects as [REDACTED].
 * Only `reveal()` returns the value, and only the credential header builder calls it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[REDACTED]';
  }

  toJSON(): string {
    return '[REDACTED]';
  }

  [inspect.custom](): string {
    return 'Secret([REDACTED])';
  }
}

/**
 * Reads a secret by reference — `env:NAME` or `file:PATH` (a trailing newline is dropped). The error
 * names the reference, never a value.
 */
export function readSecret(reference: string): Secret {
  if (reference.startsWith('env:')) {
    const name = reference.slice(4);
    const value = process.env[name];
    if (!value) throw new Error(`secret ${reference}: environment variable ${name} is not set or empty`);
    return new Secret(value);
  }
  if (reference.startsWith('file:')) {
    let value: string;
    try {
      value = readFileSync(reference.slice(5), 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new Error(`secret ${reference}: cannot read file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (!value) throw new Error(`secret ${reference}: file is empty`);
    return new Secret(value);
  }
  throw new Error(`secret reference must be env:NAME or file:PATH`);
}
