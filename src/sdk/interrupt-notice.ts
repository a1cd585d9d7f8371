/**
 * Ctrl-C while `task.wait()` runs: the user wants their program back, not the task killed. One
 * SIGINT listener is installed while at least one wait is in progress; it says how to reach each
 * waited task again and exits with 130 (128 + SIGINT), the code a shell expects.
 */

interface WaitedTask {
  readonly id: string;
  readonly machineGroup: string;
}

/**
 * One SIGINT listener for however many calls are in progress: `add` registers an item and returns
 * its remover; the listener is installed with the first item, removed with the last, and fires
 * once, with the items registered then (a second Ctrl-C gets Node's default).
 */
function createSigintRegistry<T>(onInterrupt: (items: T[]) => void): (item: T) => () => void {
  const items = new Map<symbol, T>();
  let listener: (() => void) | undefined;
  return (item) => {
    const key = Symbol();
    items.set(key, item);
    if (listener === undefined) {
      listener = () => {
        listener = undefined;
        onInterrupt([...items.values()]);
      };
      process.once("SIGINT", listener);
    }
    return () => {
      items.delete(key);
      if (items.size === 0 && listener !== undefined) {
        process.off("SIGINT", listener);
        listener = undefined;
      }
    };
  };
}

const addWaited = createSigintRegistry<WaitedTask>(onInterrupt);

/** Registers a waited task; the returned function unregisters it (call it in `finally`). */
export function noticeOnInterrupt(task: WaitedTask): () => void {
  return addWaited(task);
}

/** The line printed for a task still running when the user pressed Ctrl-C. */
export function describeInterruptedWait(task: WaitedTask): string {
  const { id, machineGroup } = task;
  return `task ${id} keeps running on ${machineGroup}; follow it with \`flotilla logs ${id}\`, wait again with \`flotilla tasks wait ${id}\`, kill it with \`flotilla tasks kill ${id}\``;
}

function onInterrupt(waited: WaitedTask[]): void {
  const seen = new Set<string>();
  for (const task of waited) {
    if (seen.has(task.id)) continue;
    seen.add(task.id);
    process.stderr.write(`\n${describeInterruptedWait(task)}\n`);
  }
  // eslint-disable-next-line no-restricted-properties -- Ctrl-C in wait() must end the program as the user asked (Node's default), after saying the task keeps running; the SDK's only exit.
  process.exit(130);
}

/**
 * Ctrl-C while `run()` creates the task and uploads its input: the task is not submitted yet, so
 * `cancel` kills it (and says which it was) rather than leaving it in pending-input; then the
 * program exits with 130. One SIGINT listener serves every `run()` in progress (a sweep submits
 * many at once). Returns the uninstaller.
 */
export function cancelOnInterrupt(cancel: () => Promise<string | undefined>): () => void {
  return addCancel(cancel);
}

const addCancel = createSigintRegistry<() => Promise<string | undefined>>(onInterruptDuringRun);

function onInterruptDuringRun(cancels: (() => Promise<string | undefined>)[]): void {
  const pending = cancels.map((cancel) =>
    cancel().then(
      (id) => {
        const what =
          id === undefined
            ? "before the task was created"
            : `while uploading the input of task ${id}; it was killed`;
        process.stderr.write(`\ninterrupted ${what}, so nothing is left half-submitted\n`);
      },
      () => undefined,
    ),
  );
  void Promise.all(pending).then(() => {
    // eslint-disable-next-line no-restricted-properties -- Ctrl-C must end the program, after the half-made tasks are cleaned up.
    process.exit(130);
  });
}
