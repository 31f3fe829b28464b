/**
 * The agent side of Mandate (`import { delegate } from 'mandate/agent'`): obtain a task's delegation
 * from the user's token and the agent's key, keep it fresh, and make tool calls through Mandate with
 * it. See README "For agent developers".
 */
export type { AgentIdentity } from './agent-key.ts';
export { type DelegateOptions, Delegation, delegate, type Task } from './delegate.ts';
export { MandateAgentError, type MandateAgentErrorCode, MandateRefusal, readRefusal } from './refusal.ts';
