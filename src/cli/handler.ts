/**
 * `--on-command EXEC`: each command a phone is entitled to runs EXEC with a JSON description on
 * stdin. Exit 0 means done (its stdout, if any, travels back sealed as the result data); any
 * other exit means HANDLER_FAILED; still running at the deadline means HANDLER_TIMEOUT (the
 * vehicle's handler timeout; the process is then killed).
 */
import { spawn } from 'node:child_process';
import { toHex } from '../crypto/bytes.js';
import { MAX_COMMAND_DATA_BYTES } from '../protocol/constants.js';
import type { CommandContext, CommandHandler } from '../vehicle/run-handler.js';
import { commandName } from './admin.js';

/** What EXEC reads on stdin. */
export interface HandlerInput {
  command: string;
  commandId: number;
  keyId: string;
  keyName: string;
  role: 'owner' | 'friend';
  path: 'full' | 'fast';
  userPresent: boolean;
  /** The phone's argument bytes in hex, or null. */
  argument: string | null;
}

/** The JSON EXEC receives for one command. */
export function handlerInput(ctx: CommandContext): HandlerInput {
  return {
    command: commandName(ctx.command),
    commandId: ctx.command,
    keyId: ctx.keyId,
    keyName: ctx.keyName,
    role: ctx.role,
    path: ctx.path,
    userPresent: ctx.userPresent,
    argument: ctx.data ? toHex(ctx.data) : null,
  };
}

/** A command handler that runs `exec` (a path, no shell) per command. */
export function execHandler(exec: string): CommandHandler {
  return (ctx) =>
    new Promise<Uint8Array | void>((resolve, reject) => {
      const child = spawn(exec, [], { stdio: ['pipe', 'pipe', 'inherit'] });
      // Killed at the deadline; the failure surfaces when the process is reaped (later than the
      // vehicle's timeout), so the phone hears HANDLER_TIMEOUT rather than HANDLER_FAILED.
      const kill = (): void => void child.kill('SIGKILL');
      if (ctx.signal.aborted) kill();
      ctx.signal.addEventListener('abort', kill, { once: true });
      child.once('close', () => ctx.signal.removeEventListener('abort', kill));
      const out: Buffer[] = [];
      let size = 0;
      child.stdout.on('data', (d: Buffer) => {
        size += d.length;
        if (size <= MAX_COMMAND_DATA_BYTES) out.push(d);
      });
      child.on('error', (e: NodeJS.ErrnoException) => reject(new Error(`cannot run ${exec}: ${e.code ?? e.message}`)));
      child.on('close', (code, signal) => {
        if (code !== 0) return reject(new Error(signal ? `handler killed by ${signal}` : `handler exited with status ${code}`));
        if (size > MAX_COMMAND_DATA_BYTES) return reject(new Error(`handler printed ${size} bytes; at most ${MAX_COMMAND_DATA_BYTES} fit a result`));
        const data = Buffer.concat(out);
        resolve(data.length > 0 ? new Uint8Array(data) : undefined);
      });
      child.stdin.on('error', () => undefined); // a handler that does not read stdin is fine
      child.stdin.end(`${JSON.stringify(handlerInput(ctx))}\n`);
    });
}
