import { pino } from 'pino';

/**
 * Structured JSON logs. The audit trail is the record of what happened; logs are for operators.
 * Credentials are redacted by path as a second line of defence — the first is that tokens and secret
 * values are never passed to the logger (secrets are the Secret type, which serialises as [REDACTED]).
 */
export const log = pino({
  level: process.env.MANDATE_LOG_LEVEL ?? 'info',
  base: { service: 'mandate' },
  redact: {
    paths: [
      '*.authorization',
      '*.cookie',
      '*.token',
      '*.secret',
      '*.headers.authorization',
      '*.headers.cookie',
      '*.headers["x-api-key"]',
    ],
    censor: '[REDACTED]',
  },
});

export type Logger = typeof log;
