import WebSocket from 'ws';

/**
 * One subscription on its own socket, speaking graphql-transport-ws
 * (graphql-ws's PROTOCOL.md) over `ws` directly: thousands of these share the
 * machine's cores with the server under test, so each message costs one
 * JSON.parse and nothing else (no retry logic, no per-client timers once
 * subscribed).
 */
export type SubscriberOptions = {
  /** `ws://…/graphql`. */
  url: string;
  /** Sent as `connectionParams.authorization`. */
  authorization: string;
  query: string;
  /** Source address of the socket: many sockets to one port may spread over 127.0.0.x when ephemeral ports run short. */
  localAddress?: string;
  /** Until `connection_ack`. */
  timeoutMs: number;
  /** Each `next` message's payload, with the time it came off the socket (ms since the epoch). */
  onNext(payload: unknown, receivedAt: number): void;
  /** The subscription ended before we closed it: an `error` or `complete` message, or the socket closed. Called once. */
  onEnd(reason: string): void;
};

export type Subscriber = { close(): Promise<void> };

type Message = { type?: string; id?: string; payload?: unknown };

const OPERATION_ID = '1';
const CLOSE_WAIT_MS = 5_000;

/** Resolves once the server acknowledged the connection and the subscribe message is sent. */
export function subscribe(options: SubscriberOptions): Promise<Subscriber> {
  const socket = new WebSocket(options.url, 'graphql-transport-ws', {
    localAddress: options.localAddress,
    perMessageDeflate: false,
    handshakeTimeout: options.timeoutMs,
  });
  let subscribed = false;
  let closing = false;
  let ended = false;
  const end = (reason: string) => {
    if (ended || closing) return;
    ended = true;
    options.onEnd(reason);
  };
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return new Promise<Subscriber>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no connection_ack within ${options.timeoutMs} ms`));
      socket.terminate();
    }, options.timeoutMs);
    const subscriber: Subscriber = {
      async close() {
        closing = true;
        if (socket.readyState === WebSocket.CLOSED) return;
        socket.close(1000, 'bench done');
        const force = setTimeout(() => socket.terminate(), CLOSE_WAIT_MS);
        await closed;
        clearTimeout(force);
      },
    };
    socket.on('open', () => {
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: options.authorization } }));
    });
    socket.on('message', (data: Buffer) => {
      const receivedAt = Date.now();
      const message = JSON.parse(data.toString()) as Message;
      switch (message.type) {
        case 'next':
          options.onNext(message.payload, receivedAt);
          return;
        case 'connection_ack':
          clearTimeout(timer);
          socket.send(JSON.stringify({ id: OPERATION_ID, type: 'subscribe', payload: { query: options.query } }));
          subscribed = true;
          resolve(subscriber);
          return;
        case 'ping':
          socket.send(JSON.stringify({ type: 'pong' }));
          return;
        case 'error':
          end(`error ${JSON.stringify(message.payload).slice(0, 300)}`);
          return;
        case 'complete':
          end('complete');
          return;
      }
    });
    // An 'error' is followed by 'close', which settles everything.
    socket.on('error', () => {});
    socket.on('close', (code: number, reason: Buffer) => {
      clearTimeout(timer);
      const why = `socket closed ${code}${reason.length ? ` ${reason.toString()}` : ''}`;
      if (subscribed) end(why);
      else reject(new Error(why));
    });
  });
}
