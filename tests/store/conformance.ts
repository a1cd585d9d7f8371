// The executable spec of TaskStore: every adapter runs this suite unchanged.
import { after, before, describe } from "node:test";
import type { TaskStore } from "../../src/store/task-store.js";
import { describeListing } from "./conformance-listing.js";
import { describeQueue } from "./conformance-queue.js";
import { describePersistence, describeRegistry } from "./conformance-registry.js";
import type { StoreContext } from "./conformance-support.js";
import { describeTasks } from "./conformance-tasks.js";

export interface OpenedStore {
  readonly store: TaskStore;
  /** Opens the same data again, after the suite has closed `store` (a fresh connection). */
  readonly reopen: () => Promise<TaskStore>;
  /** Closes whatever is open and removes the data. */
  readonly cleanup: () => Promise<void>;
}

/**
 * Registers the conformance tests of one adapter. `open` gives an empty store; tests share it
 * and stay apart by using fresh group, project and owner names.
 */
export function runStoreConformance(name: string, open: () => Promise<OpenedStore>): void {
  describe(`TaskStore conformance: ${name}`, () => {
    let opened: OpenedStore | undefined;
    let current: TaskStore;
    const ctx: StoreContext = {
      get store(): TaskStore {
        if (opened === undefined) throw new Error("the store is not open yet");
        return current;
      },
      reopen: async () => {
        if (opened === undefined) throw new Error("the store is not open yet");
        await current.close();
        current = await opened.reopen();
      },
    };
    before(async () => {
      opened = await open();
      current = opened.store;
    });
    after(async () => opened?.cleanup());

    describeTasks(ctx);
    describeQueue(ctx);
    describeListing(ctx);
    describeRegistry(ctx);
    describePersistence(ctx);
  });
}
