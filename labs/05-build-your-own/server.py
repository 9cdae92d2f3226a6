#!/usr/bin/env python3
"""A starter server for lab 5: the original dialect, half done.

It runs as it is and serves `lista`, `download` and `quit`, so the kit's
client can already play a song from it. It does NOT yet do everything the
original protocol does: run the conformance checker against it to see
what is missing, then fill in the TODOs.

    python3 labs/05-build-your-own/server.py --port 2635
    streamlab conformance server 127.0.0.1:2635 --dialect original

Only Python's standard library is used. Python's `wave` module reads plain
PCM WAV files only (8 and 16 bit): the bundled songs in other formats are
skipped, with a note.
"""

import argparse
import os
import socket
import sys
import threading
import time
import wave

PAUSE = 0.05  # seconds of silence after a control message, as the original


def load_songs(folder):
    """Song name -> raw PCM bytes, for every WAV file `wave` can read."""
    songs = {}
    for entry in sorted(os.listdir(folder)):
        name, ext = os.path.splitext(entry)
        if ext.lower() != ".wav":
            continue
        try:
            with wave.open(os.path.join(folder, entry), "rb") as w:
                songs[name] = w.readframes(w.getnframes())
        except (wave.Error, EOFError) as e:
            # Python's wave module reads only plain PCM (format 1); a WAV
            # whose header says 65534 (WAVE_FORMAT_EXTENSIBLE: 24-bit,
            # float, more than two channels) or 3 (float) is skipped.
            print(
                f"skipping {entry}: Python's wave module cannot read it ({e}); "
                "it reads only plain 8- and 16-bit PCM WAV files "
                "(65534 is WAVE_FORMAT_EXTENSIBLE, used for 24-bit and float)",
                file=sys.stderr,
            )
    return songs


def find(songs, name):
    """The song whose name matches, ignoring case, or None."""
    for key in songs:
        if key.lower() == name.lower():
            return key
    return None


def serve_client(conn, addr, songs):
    with conn:
        while True:
            data = conn.recv(1024)  # one recv = one command, as the original
            if not data:
                return
            command = data.decode("utf-8", errors="replace").strip()
            word, _, arg = command.partition(" ")
            if word in ("lista", "7"):
                conn.sendall("".join(f"{n}\n" for n in songs).encode())
            elif word == "download":
                key = find(songs, arg.strip())
                if key is None:
                    # TODO: the original answers
                    # Musica '<name>' não encontrada. Por favor envie 'lista' para ver a lista de musicas
                    continue
                conn.sendall(b"track_data_start")
                time.sleep(PAUSE)
                conn.sendall(songs[key])
                # TODO: a pause alone does not promise that the end marker
                # arrives in a recv() of its own, after every audio byte
                # (docs/protocol.md 2.3): wait until the client has
                # acknowledged all the audio first. On Linux,
                # fcntl.ioctl(conn, termios.TIOCOUTQ, buf) gives the bytes
                # not yet acknowledged; wait for 0, then pause.
                time.sleep(PAUSE)
                conn.sendall(b"track_data_end")
            elif word in ("quit", "9"):
                conn.sendall(b"goodbye")
                return
            # TODO: lista_dispositivos / 10 -> one line per connected client,
            #       "<n>-<ip> ; <port> Musica: <song>" (None without a song)
            # TODO: att_status <song> -> no answer; remember the client's song
            # TODO: anything else -> "Comando Inexistente."


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2635)
    parser.add_argument("--music", default=os.path.join(here, "..", "..", "music"))
    args = parser.parse_args()

    songs = load_songs(args.music)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((args.bind, args.port))
    except OSError as e:
        sys.exit(
            f"server.py: cannot listen on {args.bind}:{args.port}: {e.strerror} "
            "(is another server, lab 1's perhaps, still running there? "
            "Stop it with Ctrl-C, or pick another --port)"
        )
    listener.listen()
    host, port = listener.getsockname()
    print(f"listening on {host}:{port} ({len(songs)} songs)", file=sys.stderr, flush=True)
    try:
        while True:
            conn, addr = listener.accept()
            threading.Thread(target=serve_client, args=(conn, addr, songs), daemon=True).start()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
