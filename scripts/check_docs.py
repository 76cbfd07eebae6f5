#!/usr/bin/env python3
"""Runs every shell command in the given Markdown files and checks the output they show.

Convention in the docs (fenced ```sh blocks):

  * each line that is not a comment is a command, run with bash in the order written;
  * `# ...` lines right after a command (no blank line between) are its expected output,
    compared exactly after trimming; the command is retried (up to --patience seconds) until
    its output matches, because a cluster needs a moment to elect or replicate;
    a `# ...` line that is just `# …` matches any output;
  * other comment lines are prose;
  * a command without expected output must exit 0, and is retried until it does; curl runs with
    `--fail-with-body` (through a private CURL_HOME), so a write answered with an HTTP error (a
    503 during an election, say) is retried rather than taken as done;
  * a block whose first line is `# on <host>` runs inside that host's network namespace (see
    --hosts), with a HOME of its own, as on a separate machine; other blocks run on this machine.

Each run gets a fresh temporary HOME, so `~/node0` is private to it, and `keyvald` and `keyval` on
PATH are the ones given by --keyvald and --keyval. At the end every process whose command line mentions that HOME is
killed (and only those). Exit status 0 when every command ran and every output matched.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def blocks(path):
    """(line number, [lines]) of each ```sh block."""
    result, current, start = [], None, 0
    with open(path) as f:
        for number, line in enumerate(f, 1):
            stripped = line.rstrip("\n")
            if current is None and stripped.strip() in ("```sh", "```bash", "```shell"):
                current, start = [], number + 1
            elif current is not None and stripped.strip() == "```":
                result.append((start, current))
                current = None
            elif current is not None:
                current.append(stripped)
    return result


def steps(lines):
    """(command, [expected lines] or None) in order."""
    out, previous_was_command = [], False
    for line in lines:
        text = line.strip()
        if not text:
            previous_was_command = False
            continue
        if text.startswith("#"):
            if previous_was_command:
                out[-1][1].append(text[1:].strip())
            continue
        out.append((text, []))
        previous_was_command = True
    return [(command, expected or None) for command, expected in out]


def matches(output, expected):
    got = [line.strip() for line in output.strip().splitlines() if line.strip()]
    if expected == ["…"]:
        return True
    return got == expected


def run(command, env, host, namespaces, timeout=60, counter=[0]):
    if host:
        argv = ["ip", "netns", "exec", namespaces[host], "bash", "-c", command]
    else:
        argv = ["bash", "-c", command]
    # Background commands (`... &`) must not keep our pipes open.
    background = command.rstrip().endswith("&")
    if background:
        counter[0] += 1
        log = open(os.path.join(env["HOME"], f"background-{counter[0]}.log"), "ab")
        log.write(f"$ {command}\n".encode())
        log.flush()
        subprocess.Popen(argv, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        return 0, ""
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout + done.stderr


def cleanup(home):
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if home in cmdline:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--keyvald", required=True, help="the keyvald binary to put on PATH")
    parser.add_argument("--keyval", required=True, help="the keyval client binary to put on PATH")
    parser.add_argument("--patience", type=float, default=60, help="seconds to retry a command until it matches")
    parser.add_argument("--hosts", default="", help="host=netns pairs for `# on <host>` blocks")
    args = parser.parse_args()
    namespaces = dict(pair.split("=", 1) for pair in args.hosts.split(",") if pair)

    failures = 0
    for path in args.files:
        home = tempfile.mkdtemp(prefix="keyval-docs-")
        bin_dir = os.path.join(home, "bin")
        os.makedirs(bin_dir)
        os.symlink(os.path.abspath(args.keyvald), os.path.join(bin_dir, "keyvald"))
        os.symlink(os.path.abspath(args.keyval), os.path.join(bin_dir, "keyval"))
        with open(os.path.join(home, ".curlrc"), "w") as f:
            f.write("--fail-with-body\n")
        env = dict(os.environ, HOME=home, CURL_HOME=home, PATH=bin_dir + os.pathsep + os.environ["PATH"])
        print(f"== {path} (HOME={home})", flush=True)
        try:
            for start, lines in blocks(path):
                host = None
                if lines and re.match(r"#\s*on\s+(\S+)", lines[0].strip()):
                    host = re.match(r"#\s*on\s+(\S+)", lines[0].strip()).group(1)
                    if host not in namespaces:
                        print(f"  {path}:{start}: no namespace for host {host} (--hosts)")
                        failures += 1
                        continue
                block_env = env
                if host:
                    block_env = dict(env, HOME=os.path.join(home, host))
                    os.makedirs(block_env["HOME"], exist_ok=True)
                for command, expected in steps(lines):
                    deadline = time.monotonic() + args.patience
                    while True:
                        code, output = run(command, block_env, host, namespaces)
                        ok = matches(output, expected) if expected else code == 0
                        if ok or time.monotonic() > deadline:
                            break
                        time.sleep(0.25)
                    where = f"{path}:{start}" + (f" on {host}" if host else "")
                    if ok:
                        print(f"  ok   {where}: {command}", flush=True)
                    else:
                        failures += 1
                        print(f"  FAIL {where}: {command}\n       exit {code}; output:\n{output}", flush=True)
                        if expected:
                            print("       expected:\n" + "\n".join("         " + e for e in expected))
        finally:
            cleanup(home)
            logs = [os.path.join(d, n) for d, _, names in os.walk(home) for n in names if n.endswith(".log")]
            if failures:
                for log in logs:
                    print(f"--- {log}\n" + open(log, errors="replace").read()[-4000:])
            shutil.rmtree(home, ignore_errors=True)
    print("docs check: " + ("all commands worked" if not failures else f"{failures} failed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
