"""Reconstruction of seed 000's Python server, for the benchmark.

The seed document shows the server in fragments: an IPv4 TCP socket with
SO_REUSEADDR on 127.0.0.1:12345, one select() over every socket with a 10 s
timeout, accept() that appends to the socket list and records the address,
recv(1024) that updates the last-activity time and send()s a reply naming the
client, exceptional sockets removed and closed, and after each wake-up an idle
check that closes clients silent for more than 10 s. This file puts those
fragments together in the obvious way, keeping their structure and their
limits (select() and its 1024-descriptor ceiling, the idle check that only
runs when select() wakes up, send() rather than sendall()).

Changed so that the benchmark can measure it like the other two servers:
  1. Replies per line: bytes are buffered per client and every complete
     request line (LF, CRLF accepted) gets one reply line with the shapes of
     protocol v1 (`status` -> `OK off`, `hello ... from X` ->
     `OK hello X: you are client #n from addr:port`, else `ERR unknown-command`).
     The seed replies once per recv() with free text.
  2. Port and idle timeout come from the command line (defaults: the seed's
     12345 and 10 s); the select() timeout equals the idle timeout, as in the
     seed where both are 10.
  3. last_active is recorded at accept(). The seed's check reads
     `last_active.get(client_socket, 0)`, which closes a client that has
     connected but not yet spoken at the next wake-up; with that, no client
     could be held open.
  4. An idle close sends `ERR idle-timeout ...` before closing, as ledctl and
     the C server do; a peer's EOF closes the socket (the seed would do so on
     its next failed recv()).
  5. A line over 1024 bytes is answered with `ERR line-too-long` and closed.

Usage: python3 seed_server.py [PORT] [IDLE_SECONDS]
"""

import select
import socket
import sys
import time


def reply_for(line, client_id, address):
    """One protocol-v1 reply line for one request line (bytes, no LF)."""
    text = line.decode("utf-8", "replace").strip()
    words = text.split(None, 1)
    verb = words[0].rstrip("!,.;:?").lower() if words else ""
    rest = words[1] if len(words) > 1 else ""
    if verb in ("status", "etat"):
        return "OK off"
    if verb == "hello":
        name = rest
        marker = rest.lower().rfind("from ")
        if marker >= 0 and (marker == 0 or rest[marker - 1].isspace()):
            name = rest[marker + 5:]
        name = name.strip() or "client #%d" % client_id
        return "OK hello %s: you are client #%d from %s:%d" % (
            name, client_id, address[0], address[1])
    if verb in ("on", "off"):
        return "OK " + verb
    return 'ERR unknown-command "%s" (try: help)' % verb


def main():
    host = "127.0.0.1"
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 12345
    idle = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0

    server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server_socket.bind((host, port))
    server_socket.listen()

    sockets_list = [server_socket]
    clients = {}
    ids = {}
    pending = {}
    last_active = {}
    next_id = 1
    print("seed server listening on %s:%d" % (host, port), flush=True)

    def remove(sock):
        if sock in sockets_list:
            sockets_list.remove(sock)
        clients.pop(sock, None)
        ids.pop(sock, None)
        pending.pop(sock, None)
        last_active.pop(sock, None)
        sock.close()

    while True:
        read_sockets, _, exception_sockets = select.select(
            sockets_list, [], sockets_list, idle)

        for notified_socket in read_sockets:
            if notified_socket == server_socket:
                client_socket, client_address = server_socket.accept()
                sockets_list.append(client_socket)
                clients[client_socket] = client_address
                ids[client_socket] = next_id
                next_id += 1
                pending[client_socket] = b""
                last_active[client_socket] = time.time()
                continue
            if notified_socket not in clients:
                continue
            try:
                message = notified_socket.recv(1024)
            except OSError:
                remove(notified_socket)
                continue
            if not message:
                remove(notified_socket)
                continue
            last_active[notified_socket] = time.time()
            data = pending[notified_socket] + message
            *lines, rest = data.split(b"\n")
            replies = [reply_for(line, ids[notified_socket],
                                 clients[notified_socket]) for line in lines]
            close_after = False
            if len(rest) > 1024:
                replies.append("ERR line-too-long line exceeds 1024 bytes; closing")
                close_after = True
            pending[notified_socket] = rest
            if replies:
                response_message = "\n".join(replies) + "\n"
                try:
                    notified_socket.send(response_message.encode())
                except OSError:
                    remove(notified_socket)
                    continue
            if close_after:
                remove(notified_socket)

        for notified_socket in exception_sockets:
            remove(notified_socket)

        for client_socket in list(clients):
            if time.time() - last_active.get(client_socket, 0) > idle:
                try:
                    client_socket.send(
                        ("ERR idle-timeout no data for %g s; closing\n" % idle).encode())
                except OSError:
                    pass
                remove(client_socket)


if __name__ == "__main__":
    main()
