// Conformance: listing tasks newest first with filters and keyset pages, and listing projects.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TaskListQuery } from "../../src/store/task-store.js";
import { driveTo, newTask, rejectsWith, unique, type StoreContext } from "./conformance-support.js";

export function describeListing(ctx: StoreContext): void {
  describe("listing", () => {
    /** Seven tasks of one fresh project, oldest first: owners, groups and statuses alternate. */
    const seed = async () => {
      const project = unique("list");
      const tasks = [];
      for (let i = 0; i < 7; i += 1) {
        const owner = i % 2 === 0 ? "bob" : "carol";
        const machineGroup = i < 4 ? "x" : "y";
        const task = await ctx.store.createTask(newTask({ project, owner, machineGroup }));
        if (i % 3 === 0) await driveTo(ctx.store, task.id, ["in-queue"]);
        if (i === 5) await driveTo(ctx.store, task.id, ["killed"]);
        tasks.push({
          id: task.id,
          owner,
          machineGroup,
          status: [0, 3, 6].includes(i) ? "in-queue" : i === 5 ? "killed" : "pending-input",
        });
      }
      return { project, newestFirst: tasks.reverse() };
    };
    const ids = async (query: TaskListQuery) =>
      (await ctx.store.listTasks(query)).tasks.map((task) => task.id);

    it("lists newest first, with each filter alone and together", async () => {
      const { project, newestFirst } = await seed();
      const expect = (keep: (t: (typeof newestFirst)[number]) => boolean) =>
        newestFirst.filter(keep).map((t) => t.id);
      const page = await ctx.store.listTasks({ project, limit: 100 });
      assert.deepEqual(
        page.tasks.map((t) => t.id),
        expect(() => true),
      );
      assert.equal(page.nextCursor, undefined, "one page: no cursor");
      assert.deepEqual(
        await ids({ project, owner: "bob", limit: 100 }),
        expect((t) => t.owner === "bob"),
      );
      assert.deepEqual(
        await ids({ project, machineGroup: "y", limit: 100 }),
        expect((t) => t.machineGroup === "y"),
      );
      assert.deepEqual(
        await ids({ project, statuses: ["in-queue"], limit: 100 }),
        expect((t) => t.status === "in-queue"),
      );
      assert.deepEqual(
        await ids({ project, statuses: ["killed", "in-queue"], limit: 100 }),
        expect((t) => t.status === "in-queue" || t.status === "killed"),
      );
      assert.deepEqual(
        await ids({
          project,
          owner: "bob",
          machineGroup: "x",
          statuses: ["in-queue", "pending-input"],
          limit: 100,
        }),
        expect((t) => t.owner === "bob" && t.machineGroup === "x"),
      );
      assert.deepEqual(await ids({ project, owner: "nobody", limit: 100 }), []);
      assert.deepEqual(await ids({ project: unique("empty"), limit: 100 }), []);
    });

    it("owner alone and status alone select across projects", async () => {
      const owner = unique("owner");
      const first = await ctx.store.createTask(newTask({ owner, project: unique("p") }));
      const second = await ctx.store.createTask(newTask({ owner, project: unique("p") }));
      assert.deepEqual(await ids({ owner, limit: 10 }), [second.id, first.id]);
      await driveTo(ctx.store, second.id, ["failed"]);
      const failed = await ids({ statuses: ["failed"], limit: 1000 });
      assert.ok(failed.includes(second.id) && !failed.includes(first.id));
    });

    it("pages through every filter with the cursor until nextCursor is absent, without gaps or repeats", async () => {
      const { project, newestFirst } = await seed();
      const queries: { query: Omit<TaskListQuery, "limit">; expected: string[] }[] = [
        { query: { project }, expected: newestFirst.map((t) => t.id) },
        {
          query: { project, statuses: ["pending-input", "in-queue"] },
          expected: newestFirst.filter((t) => t.status !== "killed").map((t) => t.id),
        },
        {
          query: { project, owner: "bob" },
          expected: newestFirst.filter((t) => t.owner === "bob").map((t) => t.id),
        },
      ];
      for (const { query, expected } of queries) {
        for (const limit of [1, 2, 3]) {
          const seen: string[] = [];
          let cursor: string | undefined;
          let pages = 0;
          do {
            const page = await ctx.store.listTasks({ ...query, limit, cursor });
            assert.ok(page.tasks.length <= limit);
            seen.push(...page.tasks.map((t) => t.id));
            cursor = page.nextCursor;
            pages += 1;
          } while (cursor !== undefined && pages < 20);
          assert.deepEqual(seen, expected, `${JSON.stringify(query)} by ${limit}`);
          assert.equal(
            pages,
            Math.max(1, Math.ceil(expected.length / limit)),
            "no empty last page",
          );
        }
      }
    });

    it("tasks in a page carry history and queue position, as getTask gives them", async () => {
      const { project } = await seed();
      const page = await ctx.store.listTasks({ project, limit: 100 });
      for (const task of page.tasks) assert.deepEqual(task, await ctx.store.getTask(task.id));
    });

    it("a malformed cursor or a limit outside 1..1000 is INVALID_INPUT", async () => {
      for (const cursor of [
        "not-a-cursor!",
        "Zm9v",
        "",
        "%%%",
        Buffer.from("../../etc").toString("base64url"),
      ]) {
        await rejectsWith(ctx.store.listTasks({ limit: 3, cursor }), "INVALID_INPUT");
      }
      for (const limit of [0, -1, 1001, 2.5]) {
        await rejectsWith(ctx.store.listTasks({ limit }), "INVALID_INPUT");
      }
    });

    it("lists projects with their task counts, for one owner or for all", async () => {
      const owner = unique("owner");
      const other = unique("owner");
      const p1 = unique("p1");
      const p2 = unique("p2");
      await ctx.store.createTask(newTask({ owner, project: p1 }));
      await ctx.store.createTask(newTask({ owner, project: p1 }));
      await ctx.store.createTask(newTask({ owner, project: p2 }));
      await ctx.store.createTask(newTask({ owner: other, project: p2 }));
      assert.deepEqual(await ctx.store.listProjects(owner), [
        { name: p1, taskCount: 2 },
        { name: p2, taskCount: 1 },
      ]);
      assert.deepEqual(await ctx.store.listProjects(other), [{ name: p2, taskCount: 1 }]);
      assert.deepEqual(await ctx.store.listProjects(unique("nobody")), []);
      const all = await ctx.store.listProjects();
      assert.deepEqual(
        all.filter((p) => p.name === p1 || p.name === p2),
        [
          { name: p1, taskCount: 2 },
          { name: p2, taskCount: 2 },
        ],
      );
    });
  });
}
