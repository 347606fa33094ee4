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
 *
 * SIGTERM, not SIGKILL, on purpose: DynamoDB Local answers a write before its SQLite commit has
 * run (the commit is queued on its database thread), and only a JVM that shuts down runs the
 * queue to the end. A killed JVM can lose writes it had acknowledged.
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

// Java is this process's child, so it shares this process's session, which `startDynamoDb`
// detached from the stack's: a terminal's Ctrl-C or hang-up, or a kill of the stack's process
// group, never reaches it directly. It stops when this process stops it: gracefully.
const java = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'], windowsHide: true });

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
process.on('SIGINT', stop);
process.on('SIGHUP', stop);
