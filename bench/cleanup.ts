// Everything the bench starts registers how to stop it here, so that the normal end, an error and
// Ctrl-C all stop the same things, newest first, each exactly once.
interface Entry { name: string; fn: () => Promise<void>; done?: Promise<void> }

const stack: Entry[] = [];
const inFlight = new Set<Promise<void>>();

function run(entry: Entry): Promise<void> {
  entry.done ??= (async () => {
    const i = stack.indexOf(entry);
    if (i >= 0) stack.splice(i, 1);
    try {
      await entry.fn();
    } catch (err) {
      process.stderr.write(`bench: stopping ${entry.name} failed: ${(err as Error).message}\n`);
    }
  })();
  inFlight.add(entry.done);
  return entry.done;
}

/** Registers a stop function; returns it, run-once, for the normal path to call when done. */
export function onCleanup(name: string, fn: () => Promise<void>): () => Promise<void> {
  const entry: Entry = { name, fn };
  stack.push(entry);
  return () => run(entry);
}

/** Stops everything still registered, and waits for stops already under way elsewhere (a signal and the normal path may race). */
export async function cleanupAll(): Promise<void> {
  while (stack.length) await run(stack[stack.length - 1]!);
  await Promise.all(inFlight);
}
