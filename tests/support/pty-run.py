# Runs a command on a pseudo-terminal, as a person's terminal runs it (its stdin is a TTY): what it
# prints comes out on stdout; what comes in on stdin is typed at the terminal (\x04 is Ctrl-D).
# Exits with the command's exit code. Used by tests/sim-terminal-eof.test.ts.
import os
import pty
import select
import sys

pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
inputs = [fd, 0]
while True:
    ready, _, _ = select.select(inputs, [], [])
    if fd in ready:
        try:
            data = os.read(fd, 4096)
        except OSError:  # the command closed the terminal: it has ended
            break
        if not data:
            break
        os.write(1, data)
    if 0 in ready:
        data = os.read(0, 4096)
        if data:
            os.write(fd, data)
        else:
            inputs.remove(0)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
