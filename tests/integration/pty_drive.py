#!/usr/bin/env python3
"""pty_drive.py - run a command on a new pseudo-terminal and answer its
prompts like a person at the keyboard.

usage: pty_drive.py [--expect TEXT (--send LINE | --intr)]... -- COMMAND [ARG...]

For each --expect/--send pair, waits (at most 10 s) until TEXT has appeared
in the terminal output since the previous answer, then waits until the
terminal's ECHO flag is off (at most 3 s; a note is printed if it never
goes off, and the line is typed anyway, so that a program that echoes is
caught by the transcript), then types LINE and a newline (--intr: types the interrupt character, ^C,
instead).

Prints the whole terminal transcript (what a person would have seen) on
standard output, then "[echo-off-before-typing: yes|no ...]" lines, and
and "[echo-after-exit: on|off]" (the terminal's ECHO flag once the command
has ended), and exits with the command's exit status, 128 + N if signal N
ended it (or 124 on a timeout, 125 on a driver error).
"""
import os
import pty
import select
import sys
import termios
import time


def main():
    argv = sys.argv[1:]
    steps = []
    while argv and argv[0] != "--":
        if len(argv) >= 3 and argv[0] == "--expect" and argv[2] == "--intr":
            steps.append((argv[1].encode(), None))
            argv = argv[3:]
            continue
        if len(argv) < 4 or argv[0] != "--expect" or argv[2] != "--send":
            print("usage: pty_drive.py [--expect T (--send L | --intr)]... -- CMD",
                  file=sys.stderr)
            return 125
        steps.append((argv[1].encode(), argv[3].encode()))
        argv = argv[4:]
    if not argv or len(argv) < 2:
        print("pty_drive.py: no command", file=sys.stderr)
        return 125
    cmd = argv[1:]

    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)

    transcript = bytearray()
    notes = []
    eof = False

    def pump(timeout):
        nonlocal eof
        if eof:
            time.sleep(timeout)
            return
        r, _, _ = select.select([fd], [], [], timeout)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:     # EIO: the slave side is closed
                data = b""
            if data:
                transcript.extend(data)
            else:
                eof = True

    seen = 0
    for text, line in steps:
        deadline = time.monotonic() + 10
        while transcript.find(text, seen) < 0:
            if eof or time.monotonic() > deadline:
                sys.stdout.write(transcript.decode("utf-8", "replace"))
                print("\n[timeout waiting for %r]" % text.decode())
                if not eof:
                    os.kill(pid, 9)
                os.waitpid(pid, 0)
                return 124
            pump(0.05)
        seen = transcript.find(text, seen) + len(text)
        # The slave's termios, read through the master (Linux shares them).
        deadline = time.monotonic() + 3
        echo_off = False
        while time.monotonic() < deadline:
            lflag = termios.tcgetattr(fd)[3]
            if not lflag & termios.ECHO:
                echo_off = True
                break
            pump(0.01)
        notes.append("[echo-off-before-typing: %s for %r]"
                     % ("yes" if echo_off else "no", text.decode()))
        if line is None:
            os.write(fd, bytes(termios.tcgetattr(fd)[6][termios.VINTR]))
        else:
            os.write(fd, line + b"\n")

    deadline = time.monotonic() + 10
    while not eof and time.monotonic() < deadline:
        pump(0.05)
    if not eof:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(transcript.decode("utf-8", "replace"))
    sys.stdout.write("\n")
    for n in notes:
        print(n)
    try:
        lflag = termios.tcgetattr(fd)[3]
        print("[echo-after-exit: %s]" % ("on" if lflag & termios.ECHO else "off"))
    except termios.error as e:
        print("[echo-after-exit: unknown (%s)]" % e)
    if not eof:
        print("[timeout waiting for the command to finish]")
        return 124
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return 128 + os.WTERMSIG(status)


if __name__ == "__main__":
    sys.exit(main())
