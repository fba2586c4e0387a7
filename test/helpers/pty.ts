/**
 * Runs the real CLI on a pseudo-terminal (stdin, stdout and stderr are a
 * TTY), answering a "[y/N]" question when it is asked. Python's pty module
 * does the terminal (Python is on these machines for moto).
 */
import { spawn, spawnSync } from 'node:child_process';

const DRIVER = `
import json, os, pty, select, sys
argv, answer = json.loads(sys.argv[1]), sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execvpe(argv[0], argv, os.environ)
out, asked = b'', False
while True:
    ready, _, _ = select.select([fd], [], [], 60)
    if not ready:
        break
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    out += data
    if not asked and b'[y/N]' in out:
        asked = True
        os.write(fd, (answer + '\\n').encode())
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
`;

export const havePty = spawnSync('python3', ['-c', 'import pty'], { stdio: 'ignore' }).status === 0;

/** `confix ARGS…` on a terminal; `answer` is typed when it asks [y/N]. Output is stdout and stderr together, as the terminal shows them (without cursor movements). */
export function runCliOnTty(args: string[], answer: string, env: Record<string, string | undefined> = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const argv = [process.execPath, '--import', 'tsx', 'src/cli/main.ts', ...args];
    const p = spawn('python3', ['-c', DRIVER, JSON.stringify(argv), answer], {
      env: { ...process.env, NO_COLOR: '1', CONFIX_URL: '', CONFIX_TOKEN: '', ...env },
    });
    let output = '';
    p.stdout.on('data', (d) => (output += d));
    p.stderr.on('data', (d) => (output += d));
    p.on('error', reject);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: it strips the terminal's escape sequences (ESC [ … letter)
    p.on('close', (code) => resolve({ code: code ?? -1, output: output.replace(/\r+\n/g, '\n').replace(/\u001b\[[0-9;]*[A-Za-z]/g, '') }));
  });
}
