/**
 * Freezes an object tree in place. Used for values shared for the gateway's lifetime or between
 * requests (the validated config, cached principals), so nothing downstream can change them.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}
