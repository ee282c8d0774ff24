/** `--socket` values: a unix socket path, or `:PORT` / `127.0.0.1:PORT` / `localhost:PORT` for TCP. */
import type { SocketAddress } from '../link/socket.js';
import { usage } from './errors.js';

/** Parses a `--socket` value. */
export function parseSocketAddress(text: string): SocketAddress {
  const tcp = /^(127\.0\.0\.1|localhost)?:(\d{1,5})$/.exec(text);
  if (!tcp) return { path: text };
  const port = Number(tcp[2]);
  if (port < 1 || port > 65535) throw usage(`"${text}" is not a TCP port in [1, 65535]`);
  return { port, host: '127.0.0.1' };
}
