/**
 * A small MongoDB wire-protocol responder for tests: it speaks what the real
 * `mongodb` driver sends (OP_QUERY for the first handshake, OP_MSG for the rest,
 * answered with OP_REPLY / OP_MSG; https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/)
 * and records every command it receives, so a test can prove what did and did not
 * reach the "server". Command semantics live in the handler (test/fixtures/mongodb).
 */
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { BSON } from 'mongodb';

type Doc = Record<string, unknown>;

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;
const CHECKSUM_PRESENT = 1;
const MORE_TO_COME = 2;

/** What the driver sends on its own: handshake, authentication, heartbeats, session clean-up. */
export const DRIVER_PROTOCOL_COMMANDS: readonly string[] = ['hello', 'isMaster', 'ismaster', 'saslStart', 'saslContinue', 'endSessions', 'ping'];

export interface ReceivedCommand {
  /** The command name: the first key of the document. */
  name: string;
  db: string;
  doc: Doc;
  connection: number;
  /** Whether the connection had authenticated when the command arrived. */
  user: string | undefined;
}

/** What a handler may keep per connection (the SCRAM conversation, the authenticated user). */
export interface ConnectionState {
  id: number;
  user?: string;
  scram?: unknown;
  tlsPeerSubject?: string;
}

export type CommandHandler = (cmd: ReceivedCommand, conn: ConnectionState) => Doc | Promise<Doc>;

export interface ResponderOptions {
  tls?: TlsOptions;
  /** Delay before answering these commands (to exercise timeouts). */
  delayMs?: (cmd: ReceivedCommand) => number;
}

function cstring(buf: Buffer, at: number): [string, number] {
  const end = buf.indexOf(0, at);
  if (end < 0) throw new Error('unterminated cstring');
  return [buf.toString('utf8', at, end), end + 1];
}

function bsonAt(buf: Buffer, at: number): [Doc, number] {
  const len = buf.readInt32LE(at);
  return [BSON.deserialize(buf.subarray(at, at + len), { promoteLongs: false, promoteValues: true }) as Doc, at + len];
}

function frame(opCode: number, responseTo: number, body: Buffer): Buffer {
  const header = Buffer.alloc(16);
  header.writeInt32LE(16 + body.length, 0);
  header.writeInt32LE(Math.floor(Math.random() * 2 ** 31), 4);
  header.writeInt32LE(responseTo, 8);
  header.writeInt32LE(opCode, 12);
  return Buffer.concat([header, body]);
}

function opMsgReply(responseTo: number, doc: Doc): Buffer {
  const flags = Buffer.alloc(5); // flagBits 0, section kind 0
  return frame(OP_MSG, responseTo, Buffer.concat([flags, Buffer.from(BSON.serialize(doc))]));
}

function opReply(responseTo: number, doc: Doc): Buffer {
  const head = Buffer.alloc(20); // responseFlags, cursorID (8), startingFrom, numberReturned
  head.writeInt32LE(1, 16);
  return frame(OP_REPLY, responseTo, Buffer.concat([head, Buffer.from(BSON.serialize(doc))]));
}

/** Parses one OP_MSG body: section 0 is the command, section 1 document sequences join it as arrays. */
function parseOpMsg(msg: Buffer): { doc: Doc; flags: number } {
  const flags = msg.readUInt32LE(16);
  const end = msg.length - (flags & CHECKSUM_PRESENT ? 4 : 0);
  let at = 20;
  let doc: Doc = {};
  const sequences: Record<string, Doc[]> = {};
  while (at < end) {
    const kind = msg.readUInt8(at);
    at += 1;
    if (kind === 0) {
      [doc, at] = bsonAt(msg, at);
    } else if (kind === 1) {
      const size = msg.readInt32LE(at);
      const stop = at + size;
      const [identifier, start] = cstring(msg, at + 4);
      let p = start;
      const docs: Doc[] = [];
      while (p < stop) {
        let d: Doc;
        [d, p] = bsonAt(msg, p);
        docs.push(d);
      }
      sequences[identifier] = docs;
      at = stop;
    } else {
      throw new Error(`unknown OP_MSG section kind ${kind}`);
    }
  }
  return { doc: { ...doc, ...sequences }, flags };
}

export class WireResponder {
  readonly received: ReceivedCommand[] = [];
  private readonly sockets = new Set<Socket>();
  private nextConnection = 1;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(handler: CommandHandler, opts: ResponderOptions = {}): Promise<WireResponder> {
    // eslint-disable-next-line prefer-const -- assigned once the server listens; the socket handler reads it later
    let self: WireResponder | undefined;
    const onSocket = (socket: Socket): void => {
      self!.serve(socket, handler, opts);
    };
    const server = opts.tls === undefined ? createTcpServer(onSocket) : createTlsServer(opts.tls, onSocket);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    self = new WireResponder(server, address.port);
    return self;
  }

  private serve(socket: Socket, handler: CommandHandler, opts: ResponderOptions): void {
    this.sockets.add(socket);
    const conn: ConnectionState = { id: this.nextConnection++ };
    if ('getPeerCertificate' in socket) {
      const peer = (socket as import('node:tls').TLSSocket).getPeerCertificate();
      if (peer !== null && typeof peer === 'object' && peer.subject !== undefined) {
        conn.tlsPeerSubject = Object.entries(peer.subject)
          .map(([k, v]) => `${k}=${String(v)}`)
          .reverse()
          .join(',');
      }
    }
    let pending = Buffer.alloc(0);
    let chain = Promise.resolve();
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= pending.readInt32LE(0)) {
        const msg = pending.subarray(0, pending.readInt32LE(0));
        pending = pending.subarray(msg.length);
        // Answers go out in request order, as on a real connection.
        chain = chain
          .then(() => this.answer(socket, msg, handler, conn, opts))
          .catch(() => {
            socket.destroy();
          });
      }
    });
  }

  private async answer(socket: Socket, msg: Buffer, handler: CommandHandler, conn: ConnectionState, opts: ResponderOptions): Promise<void> {
    const requestId = msg.readInt32LE(4);
    const opCode = msg.readInt32LE(12);
    let doc: Doc;
    let db: string;
    let flags = 0;
    if (opCode === OP_QUERY) {
      const [collection, at] = cstring(msg, 20);
      [doc] = bsonAt(msg, at + 8);
      db = collection.split('.')[0] ?? 'admin';
    } else if (opCode === OP_MSG) {
      ({ doc, flags } = parseOpMsg(msg));
      db = typeof doc['$db'] === 'string' ? doc['$db'] : 'admin';
    } else {
      throw new Error(`unexpected opCode ${opCode}`);
    }
    const cmd: ReceivedCommand = { name: Object.keys(doc)[0] ?? '', db, doc, connection: conn.id, user: conn.user };
    this.received.push(cmd);
    const delay = opts.delayMs?.(cmd) ?? 0;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    let reply: Doc;
    try {
      reply = await handler(cmd, conn);
    } catch (err) {
      reply = { ok: 0, errmsg: `responder error: ${(err as Error).message}`, code: 1, codeName: 'InternalError' };
    }
    if (flags & MORE_TO_COME) return;
    if (socket.destroyed) return;
    socket.write(opCode === OP_QUERY ? opReply(requestId, reply) : opMsgReply(requestId, reply));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
