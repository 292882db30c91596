# Seed 000's client, transcribed from the user's document (part one), unmodified
# except for the port, which the test passes as argv[1] when given (the seed
# hard-codes 12345; the default below is the seed's).
import socket
import sys


def client():
    host = '127.0.0.1'
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 12345

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.connect((host, port))
        print("Client 1 connecté au serveur.")
        s.sendall(b'Hello, server! from Client 1')
        data = s.recv(1024)
        print(f"Client 1 reçu: {data.decode()}")


client()
