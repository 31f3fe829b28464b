import { z } from 'zod';

/**
 * Request attributes a route exposes to its policy (intent binding, issue #4): query parameters and
 * fields of a bounded JSON body, as `input.request.query_params` and `input.request.body`. Nothing is
 * exposed, and no body is buffered, unless the route asks.
 */

/** A name as the agent writes it and the policy reads it; no `__proto__`-style names (checked in load). */
const attributeName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a name of [A-Za-z0-9_], not starting with a digit');

/** The most a route may buffer: bodies an intent is checked against are small documents, not uploads. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** `query: [vendor]`: query parameters whose decoded values the policy sees (a repeated one is refused). */
export const queryAttributesSchema = z.array(attributeName).default([]);

/**
 * `body: { max_bytes: 16384, fields: [vendor, amount, currency] }`: the body is read (at most
 * max_bytes), must be one strict JSON object, and is forwarded byte for byte; the listed top-level
 * members are what the policy sees.
 */
export const bodyAttributesSchema = z
  .strictObject({
    max_bytes: z.number().int().positive().max(MAX_BODY_BYTES),
    fields: z.array(attributeName).default([]),
  })
  .optional();

export type BodyAttributesConfig = NonNullable<z.infer<typeof bodyAttributesSchema>>;
