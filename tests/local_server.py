"""Starting and stopping a test server of ours (the peer, the watch stand-in): a process on 127.0.0.1
that writes the free port it bound to a file."""

import shutil
import subprocess
import time
from pathlib import Path


def start_listening(name: str, command: list[str], port_file: Path, env: dict, cwd: Path | None = None):
    """(process, port) once the port file names the port; a clear error if it exits or takes over 15 s."""
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while not (port_file.exists() and port_file.read_text().strip()):
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: {process.stderr.read().decode()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start within 15 s")
        time.sleep(0.02)
    return process, int(port_file.read_text().strip())


def stop(process: subprocess.Popen, workdir: Path) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
    shutil.rmtree(workdir, ignore_errors=True)
