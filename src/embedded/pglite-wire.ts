// Serves one PGlite instance over the Postgres wire protocol to several clients at once.
//
// Why not PGLiteSocketServer from @electric-sql/pglite-socket: PGlite is a single backend session,
// and that server's multiplexer (0.2.17, `maxConnections` > 1) interleaves clients message by
// message. PGlite answers the extended protocol (Parse/Bind/Execute/Sync, which pg and Prisma use
// for every parameterised query) only at Sync, so answers reach the wrong socket and clients hang
// (electric-sql/pglite#1046; reproduced here with three concurrent migrate() runs). With its
// default of one connection, a second client (the admin CLI next to the running demo) is refused.
//
// Here a client owns the session from its first message until PGlite reports ReadyForQuery with
// status idle: a whole query cycle, or a whole transaction. Others queue in arrival order. This is
// what a transaction-pooling proxy does, so node-postgres pools and Prisma work unchanged.
// Connecting never waits: startup packets get the reply PGlite gave when the server started.
// Limits that remain (PGlite has one session): session state (SET, search_path, advisory locks,
// prepared statement names, temp tables) is shared by all clients; startup parameters (database,
// `options`) are ignored; and code that, inside a transaction, waits for a query on another
// connection waits forever.
import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
const TERMINATE = 0x58; // 'X'
const READY_FOR_QUERY = 0x5a; // 'Z'
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

const SYNC = Buffer.from([0x53, 0, 0, 0, 4]);
const ROLLBACK = simpleQuery('ROLLBACK');

function simpleQuery(sql: string): Buffer {
  const body = Buffer.from(`${sql}\0`, 'utf8');
  const header = Buffer.alloc(5);
  header[0] = 0x51; // 'Q'
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

function fatalError(code: string, message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`, 'utf8');
  const header = Buffer.alloc(5);
  header[0] = 0x45; // 'E'
  header.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([header, fields]);
}

// Transaction status of the last ReadyForQuery in a chunk of backend messages ('I' idle,
// 'T' in a transaction, 'E' in a failed one), or null if the chunk ends mid-cycle.
function lastReadyStatus(output: Buffer): string | null {
  let status: string | null = null;
  let offset = 0;
  while (offset + 5 <= output.length) {
    const length = output.readInt32BE(offset + 1);
    if (length < 4) break;
    if (output[offset] === READY_FOR_QUERY && offset + 6 <= output.length) {
      status = String.fromCharCode(output[offset + 5] ?? 0);
    } else {
      status = null;
    }
    offset += 1 + length;
  }
  return status;
}

// First come, first served ownership of the PGlite session.
class SessionLock {
  #held = false;
  #waiting: (() => void)[] = [];

  acquire(): Promise<() => void> {
    return new Promise((resolve) => {
      const grant = () => {
        this.#held = true;
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          const next = this.#waiting.shift();
          if (next) next();
          else this.#held = false;
        });
      };
      if (this.#held) this.#waiting.push(grant);
      else grant();
    });
  }
}

class ClientConnection {
  #input = Buffer.alloc(0);
  #started = false;
  #closed = false;
  #release: (() => void) | null = null;
  // Messages of one client are handled strictly in order.
  #work: Promise<void> = Promise.resolve();
  readonly done: Promise<void>;

  constructor(
    private readonly socket: Socket,
    private readonly db: PGlite,
    private readonly lock: SessionLock,
    private readonly startupReply: Buffer,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      this.#input = Buffer.concat([this.#input, chunk]);
      this.#work = this.#work
        .then(() => this.#drain())
        .catch(() => {
          socket.destroy();
        });
    });
    socket.on('error', () => {
      // 'close' follows and cleans up.
    });
    this.done = new Promise((resolve) => {
      socket.on('close', () => {
        this.#closed = true;
        this.#work = this.#work.then(() => this.#cleanUp()).finally(resolve);
      });
    });
  }

  async #drain(): Promise<void> {
    for (;;) {
      if (this.#closed) return;
      if (!this.#started) {
        if (!this.#startUp()) return;
        continue;
      }
      const message = this.#nextMessage();
      if (message === null) return;
      await this.#execute(message);
    }
  }

  // Answers the startup packets; false when more bytes are needed. PGlite has one session and
  // ignores user, database and options, so every client gets the reply PGlite gave at boot
  // (authentication ok, server parameters, ready) without waiting for the session: a client
  // can connect while another one holds a transaction open, as on a real server.
  #startUp(): boolean {
    if (this.#input.length < 8) return false;
    const length = this.#input.readInt32BE(0);
    if (length < 8 || length > MAX_MESSAGE_BYTES) throw new Error('bad startup packet');
    if (this.#input.length < length) return false;
    const code = this.#input.readInt32BE(4);
    this.#input = this.#input.subarray(length);
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      this.socket.write('N'); // no encryption on loopback; the client goes on in plain text
      return true;
    }
    if (code === CANCEL_REQUEST) throw new Error('cancel requests are not supported');
    if (code !== PROTOCOL_3) throw new Error('unsupported protocol version');
    this.socket.write(this.startupReply);
    this.#started = true;
    return true;
  }

  #nextMessage(): Buffer | null {
    if (this.#input.length < 5) return null;
    const length = this.#input.readInt32BE(1);
    if (length < 4 || length > MAX_MESSAGE_BYTES) throw new Error('bad message length');
    if (this.#input.length < 1 + length) return null;
    const message = this.#input.subarray(0, 1 + length);
    this.#input = this.#input.subarray(1 + length);
    if (message[0] === TERMINATE) {
      this.socket.end();
      return null;
    }
    return message;
  }

  async #execute(message: Buffer): Promise<void> {
    if (!this.#release) {
      this.#release = await this.lock.acquire();
      if (this.#closed) return; // #cleanUp releases
    }
    const status = await this.#run(message, (data) => {
      if (!this.#closed) this.socket.write(data);
    });
    if (status === 'I') this.#releaseSession();
  }

  async #run(message: Buffer, forward: (data: Buffer) => void): Promise<string | null> {
    const output: Buffer[] = [];
    await this.db.runExclusive(() =>
      this.db.execProtocolRawStream(new Uint8Array(message), {
        onRawData: (data) => {
          // A view into PGlite's memory: copy before it is reused.
          const copy = Buffer.from(data);
          output.push(copy);
          forward(copy);
        },
      }),
    );
    return lastReadyStatus(Buffer.concat(output));
  }

  #releaseSession(): void {
    const release = this.#release;
    this.#release = null;
    release?.();
  }

  // A client that left mid-cycle or mid-transaction must not leave the shared session that way:
  // end the cycle (Sync) and roll back what it left open.
  async #cleanUp(): Promise<void> {
    if (!this.#release) return;
    try {
      const status = await this.#run(SYNC, () => {});
      if (status !== 'I') await this.#run(ROLLBACK, () => {});
    } catch {
      // The database is closing or broken; nothing more to undo.
    } finally {
      this.#releaseSession();
    }
  }
}

// Starts PGlite's protocol session and keeps its reply for the clients' startup packets.
async function bootSession(db: PGlite): Promise<Buffer> {
  const parameters = Buffer.from('user\0postgres\0database\0postgres\0\0', 'utf8');
  const packet = Buffer.alloc(8 + parameters.length);
  packet.writeInt32BE(packet.length, 0);
  packet.writeInt32BE(PROTOCOL_3, 4);
  parameters.copy(packet, 8);
  const reply = Buffer.from(await db.runExclusive(() => db.execProtocolRaw(new Uint8Array(packet))));
  if (lastReadyStatus(reply) !== 'I') throw new Error('PGlite did not accept the startup packet');
  return reply;
}

export interface PgliteWireServer {
  port: number;
  close(): Promise<void>;
}

export async function servePgliteOverWire(
  db: PGlite,
  options: { host: string; port: number; maxConnections: number },
): Promise<PgliteWireServer> {
  const lock = new SessionLock();
  const startupReply = await bootSession(db);
  const connections = new Set<ClientConnection>();
  // Every open socket, refused ones included: close() must not wait for a client to hang up.
  const sockets = new Set<Socket>();

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (connections.size >= options.maxConnections) {
      socket.on('error', () => {});
      socket.end(fatalError('53300', 'sorry, too many clients already'));
      return;
    }
    const connection = new ClientConnection(socket, db, lock, startupReply);
    connections.add(connection);
    void connection.done.then(() => connections.delete(connection));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');

  return {
    port: address.port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await Promise.all([...connections].map((connection) => connection.done));
      await closed;
    },
  };
}
