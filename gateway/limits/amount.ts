/**
 * Amounts are counted exactly, as whole ten-thousandths ("units"). Summed as binary floating point,
 * 0.1 + 0.2 comes to more than 0.3: a budget of 0.3 would refuse the payment that exactly reaches it,
 * and the drift of a long sum decides calls at the boundary a security team wrote. Four decimals hold
 * every ISO 4217 currency's minor unit; an amount with more is refused rather than rounded.
 */
export const UNITS_PER_AMOUNT = 10_000;

/** The largest amount (and amount limit): a sum of units stays below 2^53, where doubles are exact. */
export const MAX_AMOUNT = 900_000_000_000;

// Number's shortest round-trip text: "0.1", "4200", "1e-7"; at most four decimals, no exponent.
const EXACT = /^\d+(\.\d{1,4})?$/;

/** The amount in units, or undefined when it is negative, above MAX_AMOUNT or has more than four decimals. */
export function toUnits(amount: number): number | undefined {
  if (!Number.isFinite(amount) || amount < 0 || amount > MAX_AMOUNT || !EXACT.test(String(amount))) return undefined;
  return Math.round(amount * UNITS_PER_AMOUNT);
}

/** The amount that many units are: the double nearest the exact decimal, which `toUnits` maps back. */
export const fromUnits = (units: number): number => units / UNITS_PER_AMOUNT;
