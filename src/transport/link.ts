/**
 * The transport seen by the protocol: one connection between a phone and a vehicle, carrying
 * whole application messages. Framing to the ATT MTU happens inside each Link implementation
 * (mock, noble, bleno) with the shared fragmenter in src/wire/framing.ts.
 */

/** Per-operation options: every Link operation can be cancelled and has a timeout. */
export interface LinkOpOptions {
  /** Cancels the operation; it then rejects with AbortError. */
  signal?: AbortSignal;
  /** Rejects with TimeoutError (code `LINK_TIMEOUT`) after this many ms of the link's clock. */
  timeoutMs?: number;
}

/** Why a link closed. */
export interface LinkCloseInfo {
  /** `local` (close() called here), `remote` (peer closed), `error` (transport failure). */
  by: 'local' | 'remote' | 'error';
  /** Human-readable reason; never contains secrets. */
  reason: string;
}

/** One connection carrying whole messages in order, both ways. */
export interface Link {
  /** Negotiated ATT MTU. Each GATT write or notification carries at most `mtu - 3` bytes. */
  readonly mtu: number;
  /** Whether the link has closed (for any reason). */
  readonly isClosed: boolean;
  /**
   * Sends one whole message (≤ MAX_MESSAGE_BYTES). Resolves once the last chunk is handed to the
   * radio (or delivered, for the mock). Rejects with TransportError if the link is or becomes
   * closed, TimeoutError on timeout, AbortError on abort.
   */
  send(message: Uint8Array, options?: LinkOpOptions): Promise<void>;
  /**
   * Resolves with the next whole message from the peer, in order. Messages that arrive while
   * nobody is receiving are queued (bounded). Rejects with TransportError when the link closes,
   * TimeoutError on timeout, AbortError on abort.
   */
  receive(options?: LinkOpOptions): Promise<Uint8Array>;
  /** Closes the link. Idempotent. Pending and later operations reject with TransportError. */
  close(reason?: string): Promise<void>;
  /** Subscribes to the close event; the callback runs once (immediately if already closed). Returns an unsubscribe function. */
  onClose(callback: (info: LinkCloseInfo) => void): () => void;
}
