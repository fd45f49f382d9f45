// `npm run hash-password -- <password>` (or the password on stdin): prints a hash for
// mqtt.broker.accounts[].passwordHash.
import { hashPassword } from './passwords.ts';

async function main(): Promise<void> {
  let password = process.argv[2];
  if (password === undefined) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    password = Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  }
  if (!password) {
    process.stderr.write('usage: npm run hash-password -- <password>   (or pipe it on stdin)\n');
    process.exit(2);
  }
  process.stdout.write(`${await hashPassword(password)}\n`);
}

await main();
