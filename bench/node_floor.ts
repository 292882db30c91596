/**
 * The node:net floor: the same least-possible server as deno_floor.ts (answer
 * `OK off` to every LF, nothing else), written on Deno's `node:net` instead
 * of `Deno.listen`/`Deno.Conn`. The benchmark runs it to show what the other
 * socket layer of the same runtime costs and how fairly it serves 1,000
 * busy connections.
 *
 *   deno run --allow-net bench/node_floor.ts PORT
 *
 * @module
 */
import { createServer, type Socket } from "node:net";
import { Buffer } from "node:buffer";

const port = Number(Deno.args[0]);
const reply = Buffer.from("OK off\n");

const server = createServer((sock: Socket) => {
  sock.setNoDelay(true);
  sock.on("data", (data: Buffer) => {
    for (let i = 0; i < data.length; i++) {
      if (data[i] === 10) sock.write(reply);
    }
  });
  sock.on("error", () => {/* reset by peer */});
});
server.listen(port, "127.0.0.1", () => {
  console.log(`node:net floor listening on 127.0.0.1:${port}`);
});
