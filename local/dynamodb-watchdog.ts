/**
 * Runs DynamoDB Local's JVM for the local stack and makes sure it never outlives the stack.
 *
 *   node --import tsx local/dynamodb-watchdog.ts <java> <argument>…   (started by `startDynamoDb`)
 *
 * The stack starts this process with an IPC channel. A channel is a pipe, and the kernel closes
 * a process's end of its pipes however the process ends, SIGKILL included: so when the stack goes
 * away, cleanly or not, this process sees the channel disconnect and stops Java (SIGTERM, then
 * SIGKILL after {@link KILL_AFTER_MS}). Java itself cannot notice: it never reads its stdin.
 * It sends `{ pid }` of Java over the channel first, so the stack can report and reap it.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/** How long Java gets to stop after SIGTERM before it is killed. */
const KILL_AFTER_MS = 3000;

const [command, ...args] = process.argv.slice(2);
if (!command || !process.send) {
  process.stderr.write('dynamodb-watchdog: start it from startDynamoDb (it needs an IPC channel and a command)\n');
  process.exit(2);
}

// A terminal's Ctrl-C or hang-up goes to the whole process group. Java must ignore them: the
// stack stops DynamoDB itself, after draining the writes still in flight. Node resets signal
// dispositions in its children, so a shell sets them and then becomes Java (`exec`, same pid).
const java =
  process.platform === 'win32'
    ? spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] })
    : spawn('/bin/sh', ['-c', 'trap "" INT HUP; exec "$0" "$@"', command, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });

java.once('error', (error) => {
  process.stderr.write(`dynamodb-watchdog: ${error.message}\n`);
  process.exit(127);
});
java.once('exit', (code, signal) => process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0)));
process.send({ pid: java.pid });

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  java.kill('SIGTERM');
  setTimeout(() => java.kill('SIGKILL'), KILL_AFTER_MS).unref();
}
process.on('disconnect', stop);
process.on('SIGTERM', stop);
// The stack handles these (they reached it too) and closes the channel when it is done.
process.on('SIGINT', () => undefined);
process.on('SIGHUP', () => undefined);
