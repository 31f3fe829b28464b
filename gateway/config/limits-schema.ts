import { z } from 'zod';
import { MAX_AMOUNT, toUnits } from '../limits/amount.ts';

const count = z.number().int().positive().max(1_000_000_000);

/**
 * routes.yaml `limits`: behavioural limits (gateway/limits/, README "Behavioural limits and the kill
 * switch"). A limit left out is not enforced; the section left out enforces none. Only calls the
 * policy allowed are counted: a refused call never reaches a backend, so it spends no budget.
 * Crossing any limit answers 429 MANDATE_LIMIT_EXCEEDED and suspends the calling task.
 */
export const limitsSchema = z
  .strictObject({
    /**
     * Length of the fixed windows `requests` are counted in, aligned to the epoch (a window of 60
     * starts on every whole minute).
     */
    window_seconds: z.number().int().positive().max(86_400).default(60),
    /** Per task (the token's `txn`); tokens without a txn are counted only per agent and per user. */
    task: z
      .strictObject({
        /** Calls per window. */
        requests: count.optional(),
        /** Calls to routes whose tier is not `read` (by default: any method but GET and HEAD), over the task's life. */
        writes: count.optional(),
        /** Different resources (backend, resource type and id) touched, over the task's life. */
        distinct_resources: count.optional(),
        /** Sum of the calls' `amount_field`, over the task's life; calls whose route does not expose it are not counted. */
        amount: z
          .number()
          .positive()
          .max(MAX_AMOUNT)
          // Counted exactly, in ten-thousandths (gateway/limits/amount.ts).
          .refine((max) => toUnits(max) !== undefined, 'at most four decimals')
          .optional(),
      })
      .default({}),
    /** Per agent (the current actor, `act.sub`), across its tasks. */
    agent: z.strictObject({ requests: count.optional() }).default({}),
    /** Per user (the token's `sub`; not for background agents' tokens), across her agents and tasks. */
    user: z.strictObject({ requests: count.optional() }).default({}),
    /** The request body attribute (routes.yaml body fields, `input.request.body`) that carries a call's amount. */
    amount_field: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .default('amount'),
    /**
     * Request counts are persisted to the state database in blocks reserved ahead of use, before the
     * first call of a block is forwarded. The first block of a window is this many calls; each next
     * one twice the last (a busy counter then commits rarely: each commit is an fsync), up to 4096 and
     * never more than an eighth of the budget left. A crash can make a counter lose at most one
     * block of its budget, never gain any. Writes, resources and amounts are persisted per call.
     */
    persist_every: z.number().int().min(1).max(1000).default(16),
    /**
     * A task not used for this many days ends: its counters and the resources it touched are deleted
     * from the state database, and its txn is refused from then on (403 MANDATE_TASK_ENDED, and at the
     * token endpoint), so the deleted budget cannot start again from zero. Keeps the state database
     * from growing with every task ever seen.
     */
    task_idle_days: z.number().int().min(1).max(3650).default(30),
  })
  .optional();

export type LimitsConfig = NonNullable<z.infer<typeof limitsSchema>>;
