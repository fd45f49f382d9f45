// `npm run -s hash-password`: prints a hash for mqtt.broker.accounts[].passwordHash. The password is
// read from a pipe, or typed at a prompt that does not echo it, so it stays out of the shell's
// history and the process list; as an argument it still works, for the scripts that pass it so.
import { Command as Cli } from 'commander';
import { hashPassword } from './passwords.ts';

const EXAMPLES = `
The password is read, in this order, from:
  the argument (kept for old scripts: it ends up in the shell history and the process list)
  a pipe:        printf %s "$PW" | npm run -s hash-password
  the terminal:  npm run -s hash-password      (asked twice, not shown)
The hash goes to stdout, alone on its line: scrypt$16384$8$1$<salt>$<hash>`;

/** Everything up to the end of input; one trailing newline (echo's) is not part of the password. */
async function readPipe(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** One line typed at the terminal without echo: raw mode, so the terminal shows nothing we do not
 * write. The prompt goes to stderr, so stdout carries the hash alone. */
function askHidden(prompt: string): Promise<string> {
  const tty = process.stdin;
  // raw mode before the prompt: what is typed as soon as the prompt shows is never echoed
  tty.setRawMode(true);
  process.stderr.write(prompt);
  tty.resume();
  tty.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (err: Error | null): void => {
      tty.off('data', onData);
      tty.setRawMode(false);
      tty.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (s: string): void => {
      for (const ch of s) {
        // raw mode turns off the terminal's own Enter, Ctrl-C, Ctrl-D and erase
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          done(ch === '\u0004' && typed === '' ? new Error('no password given') : null);
          return;
        }
        if (ch === '\u0003') {
          done(new Error('interrupted'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else if (ch >= ' ') typed += ch;
      }
    };
    tty.on('data', onData);
  });
}

async function readPassword(arg: string | undefined): Promise<string> {
  if (arg !== undefined) return arg;
  if (!process.stdin.isTTY) return readPipe();
  const first = await askHidden('password: ');
  if (first === '') return first;
  // typed blind: a typo would lock the account's client out, so it is asked twice
  if ((await askHidden('again: ')) !== first) throw new Error('the two passwords differ: nothing was printed');
  return first;
}

const cli = new Cli('hash-password')
  .description('print an scrypt hash of a broker account password, for mqtt.broker.accounts[].passwordHash')
  .argument('[password]', 'the password; better left out (see below)')
  .addHelpText('after', EXAMPLES)
  .showHelpAfterError()
  .action(async (arg: string | undefined) => {
    const password = await readPassword(arg);
    if (!password) throw new Error('no password given');
    process.stdout.write(`${await hashPassword(password)}\n`);
  });

try {
  await cli.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`hash-password: ${(err as Error).message} (--help shows how to give it)\n`);
  process.exitCode = 2;
}
