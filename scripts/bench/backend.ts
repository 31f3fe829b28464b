// Benchmark backend: the demo procurement API in its own process. Prints {"port":N} when ready.
import { startProcurement } from '../../gateway/demo/procurement.ts';

const backend = await startProcurement({ port: 0, serviceToken: process.argv[2] ?? 'bench' });
process.stdout.write(`${JSON.stringify({ port: backend.port })}\n`);
