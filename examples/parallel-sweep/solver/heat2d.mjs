#!/usr/bin/env node
// heat2d: 2-D transient heat diffusion on a square plate, dT/dt = alpha * (d2T/dx2 + d2T/dy2).
//
// Explicit finite differences (forward Euler in time, 5-point Laplacian) on an N x N grid of
// nodes with spacing h = length / (N - 1). The time step is the stable one from the CFL
// condition, dt = cfl * h^2 / (4 * alpha) with cfl <= 1. At that step every new value is a convex
// combination of old ones, so the scheme obeys the discrete maximum principle.
//
// Boundaries: "dirichlet" holds the edge nodes at boundaryTemperature (or at the heater
// temperature on a heated edge); "insulated" is zero flux, with mirror ghost nodes, which conserves
// the trapezoid-rule integral of T exactly (up to rounding).
//
// Reads ./case.json; writes ./fields/T_<step>.csv as it goes, and at the end ./summary.json and
// ./temperature.pgm. Plain JavaScript with no dependencies: it runs with `node heat2d.mjs` in any
// directory holding a case.json. Exit codes: 0 done, 2 invalid case.json, 143 SIGTERM (after
// writing what it has), 1 anything else.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const CASE_FILE = "case.json";
const EXIT_INVALID_CASE = 2;
const EXIT_SIGTERM = 143;
const YIELD_EVERY_MS = 25; // let the event loop deliver SIGTERM this often

class CaseError extends Error {}

const DEFAULTS = {
  length: 1,
  cfl: 0.9,
  boundary: "dirichlet",
  boundaryTemperature: 0,
  outputInterval: 0, // 0: only the first and last fields
  progressInterval: 0, // 0: about 20 progress lines
  tolerance: 0, // > 0: stop once max |dT/dt| falls below it (steady state)
};
const KNOWN_KEYS = new Set([
  ...Object.keys(DEFAULTS),
  "grid",
  "alpha",
  "steps",
  "endTime",
  "initialTemperature",
  "initial",
  "title",
]);

function fail(message) {
  throw new CaseError(message);
}

function number(spec, key, check, hint) {
  const value = spec[key];
  if (typeof value !== "number" || !Number.isFinite(value))
    fail(`${key} must be a number, got ${JSON.stringify(value)}`);
  if (!check(value)) fail(`${key} = ${value} is invalid: ${hint}`);
  return value;
}

const isPositive = (v) => v > 0;
const isCount = (v) => Number.isInteger(v) && v >= 0;

/** Reads and validates case.json; returns the resolved case (defaults filled in). */
function loadCase(dir = ".") {
  const path = join(dir, CASE_FILE);
  if (!existsSync(path))
    fail(`no ${CASE_FILE} in ${dir === "." ? process.cwd() : dir}; write one (see README.md)`);
  let raw;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    fail(`${CASE_FILE} is not valid JSON: ${error.message}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    fail(`${CASE_FILE} must hold a JSON object`);
  for (const key of Object.keys(raw)) {
    if (!KNOWN_KEYS.has(key))
      fail(`unknown key "${key}" in ${CASE_FILE}; known keys: ${[...KNOWN_KEYS].join(", ")}`);
  }
  const spec = { ...DEFAULTS, ...raw };
  const c = {
    title: typeof spec.title === "string" ? spec.title : "",
    grid: number(
      spec,
      "grid",
      (v) => Number.isInteger(v) && v >= 3 && v <= 4096,
      "grid must be an integer from 3 to 4096",
    ),
    length: number(spec, "length", isPositive, "length must be > 0"),
    alpha: number(spec, "alpha", isPositive, "the diffusivity alpha must be > 0"),
    cfl: number(
      spec,
      "cfl",
      (v) => v > 0 && v <= 1,
      "cfl must be in (0, 1] for a stable explicit scheme",
    ),
    boundary: spec.boundary,
    boundaryTemperature: number(spec, "boundaryTemperature", () => true, ""),
    outputInterval: number(
      spec,
      "outputInterval",
      isCount,
      "outputInterval must be a whole number of steps (0: first and last only)",
    ),
    progressInterval: number(
      spec,
      "progressInterval",
      isCount,
      "progressInterval must be a whole number of steps",
    ),
    tolerance: number(spec, "tolerance", (v) => v >= 0, "tolerance must be >= 0"),
  };
  if (c.boundary !== "dirichlet" && c.boundary !== "insulated") {
    fail(`boundary must be "dirichlet" or "insulated", got ${JSON.stringify(c.boundary)}`);
  }
  c.initialTemperature =
    spec.initialTemperature === undefined
      ? c.boundaryTemperature
      : number(spec, "initialTemperature", () => true, "");
  if ((spec.steps === undefined) === (spec.endTime === undefined))
    fail("give exactly one of steps or endTime");
  if (spec.steps !== undefined)
    c.steps = number(
      spec,
      "steps",
      (v) => Number.isInteger(v) && v >= 1,
      "steps must be an integer >= 1",
    );
  else c.endTime = number(spec, "endTime", isPositive, "endTime must be > 0");
  c.initial = loadInitial(spec.initial, c);
  return c;
}

function loadInitial(initial, c) {
  if (initial === undefined)
    fail('initial is missing: give {"type": "hot-spot", ...} or {"type": "heated-edge", ...}');
  if (initial === null || typeof initial !== "object") fail("initial must be an object");
  const at = (key) => `initial.${key}`;
  const field = (key, fallback, check, hint) => {
    const value = initial[key] ?? fallback;
    if (typeof value !== "number" || !Number.isFinite(value))
      fail(`${at(key)} must be a number, got ${JSON.stringify(value)}`);
    if (!check(value)) fail(`${at(key)} = ${value} is invalid: ${hint}`);
    return value;
  };
  const inPlate = (v) => v >= 0 && v <= c.length;
  switch (initial.type) {
    case "hot-spot":
      return {
        type: "hot-spot",
        x: field("x", c.length / 2, inPlate, `must be within [0, ${c.length}]`),
        y: field("y", c.length / 2, inPlate, `must be within [0, ${c.length}]`),
        radius: field("radius", c.length / 10, isPositive, "must be > 0"),
        temperature: field("temperature", undefined, () => true, ""),
      };
    case "heated-edge": {
      const edge = initial.edge ?? "top";
      if (!["top", "bottom", "left", "right"].includes(edge))
        fail(`${at("edge")} must be top, bottom, left or right`);
      return {
        type: "heated-edge",
        edge,
        temperature: field("temperature", undefined, () => true, ""),
      };
    }
    default:
      return fail(
        `${at("type")} must be "hot-spot" or "heated-edge", got ${JSON.stringify(initial.type)}`,
      );
  }
}

// ---- the grid ---------------------------------------------------------------------------------
// Fields are stored padded: (N + 2) x (N + 2) with one ghost layer, so node (i, j) of the plate
// (row i from the top, column j from the left, 0 <= i, j < N) lives at index (i + 1) * W + (j + 1).

function createPlate(c) {
  const N = c.grid;
  const W = N + 2;
  const h = c.length / (N - 1);
  const dtMax = (c.cfl * h * h) / (4 * c.alpha);
  const steps = c.steps ?? Math.ceil(c.endTime / dtMax - 1e-9);
  const dt = c.steps === undefined ? c.endTime / steps : dtMax;
  const T = new Float64Array(W * W);
  const idx = (i, j) => (i + 1) * W + (j + 1);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const onEdge = i === 0 || j === 0 || i === N - 1 || j === N - 1;
      T[idx(i, j)] =
        onEdge && c.boundary === "dirichlet" ? c.boundaryTemperature : c.initialTemperature;
    }
  }
  const init = c.initial;
  if (init.type === "hot-spot") {
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        const onEdge = i === 0 || j === 0 || i === N - 1 || j === N - 1;
        if (onEdge && c.boundary === "dirichlet") continue;
        if (Math.hypot(j * h - init.x, i * h - init.y) <= init.radius)
          T[idx(i, j)] = init.temperature;
      }
    }
  } else {
    for (let k = 0; k < N; k++) {
      const [i, j] = { top: [0, k], bottom: [N - 1, k], left: [k, 0], right: [k, N - 1] }[
        init.edge
      ];
      T[idx(i, j)] = init.temperature;
    }
  }
  return {
    N,
    W,
    h,
    dt,
    steps,
    r: (c.alpha * dt) / (h * h),
    T,
    next: Float64Array.from(T),
    insulated: c.boundary === "insulated",
  };
}

/** Mirror ghosts: the ghost beyond node 0 copies node 1, which makes the edge flux zero. */
function fillGhosts(p, T) {
  const { N, W } = p;
  for (let k = 1; k <= N; k++) {
    T[k] = T[2 * W + k]; // above row 0 <- row 1
    T[(N + 1) * W + k] = T[(N - 1) * W + k]; // below row N-1 <- row N-2
    T[k * W] = T[k * W + 2]; // left of column 0 <- column 1
    T[k * W + N + 1] = T[k * W + N - 1]; // right of column N-1 <- column N-2
  }
}

/** Heat that enters the plate through fixed-temperature edges in one step (trapezoid units). */
function dirichletInflow(p, T) {
  const { N, W, r, h } = p;
  let sum = 0;
  for (let k = 2; k <= N - 1; k++) {
    sum += T[1 * W + k] - T[2 * W + k]; // row 0 feeds row 1
    sum += T[N * W + k] - T[(N - 1) * W + k]; // row N-1 feeds row N-2
    sum += T[k * W + 1] - T[k * W + 2]; // column 0 feeds column 1
    sum += T[k * W + N] - T[k * W + N - 1]; // column N-1 feeds column N-2
  }
  return r * sum * h * h;
}

/** One explicit step from p.T into p.next, then swap. Returns max |dT| of the step. */
function step(p) {
  const { N, W, r } = p;
  const T = p.T;
  const U = p.next;
  const lo = p.insulated ? 1 : 2; // padded index range of the nodes that evolve
  const hi = p.insulated ? N : N - 1;
  if (p.insulated) fillGhosts(p, T);
  let maxChange = 0;
  for (let i = lo; i <= hi; i++) {
    const row = i * W;
    for (let k = row + lo; k <= row + hi; k++) {
      const t = T[k];
      const change = r * (T[k - 1] + T[k + 1] + T[k - W] + T[k + W] - 4 * t);
      U[k] = t + change;
      const a = change < 0 ? -change : change;
      if (a > maxChange) maxChange = a;
    }
  }
  p.T = U;
  p.next = T;
  return maxChange;
}

/** max, min, trapezoid integral of T over the plate, and the area-weighted mean. */
function measure(p) {
  const { N, W, h } = p;
  let max = -Infinity;
  let min = Infinity;
  let integral = 0;
  for (let i = 0; i < N; i++) {
    const wi = i === 0 || i === N - 1 ? 0.5 : 1;
    for (let j = 0; j < N; j++) {
      const t = p.T[(i + 1) * W + j + 1];
      if (t > max) max = t;
      if (t < min) min = t;
      integral += wi * (j === 0 || j === N - 1 ? 0.5 : 1) * t;
    }
  }
  const energy = integral * h * h;
  const area = (h * (N - 1)) ** 2;
  return { maxTemperature: max, minTemperature: min, meanTemperature: energy / area, energy };
}

// ---- output -----------------------------------------------------------------------------------

/** Writes to a temp file and renames it, so nobody ever reads a half-written file. */
function writeAtomic(path, data) {
  writeFileSync(`${path}.tmp`, data);
  renameSync(`${path}.tmp`, path);
}

function fieldName(stepNo, steps) {
  return `fields/T_${String(stepNo).padStart(Math.max(6, String(steps).length), "0")}.csv`;
}

function writeField(p, stepNo) {
  const { N, W } = p;
  const lines = [];
  for (let i = 0; i < N; i++) {
    const row = new Array(N);
    for (let j = 0; j < N; j++) row[j] = +p.T[(i + 1) * W + j + 1].toFixed(4);
    lines.push(row.join(","));
  }
  const name = fieldName(stepNo, p.steps);
  writeAtomic(name, lines.join("\n") + "\n");
  return name;
}

/** Binary greyscale PGM (P5), black = lo, white = hi. */
function writePgm(p, lo, hi) {
  const { N, W } = p;
  const header = Buffer.from(
    `P5\n# heat2d temperature, black=${lo.toPrecision(6)} white=${hi.toPrecision(6)}\n${N} ${N}\n255\n`,
    "ascii",
  );
  const pixels = Buffer.alloc(N * N);
  const span = hi > lo ? hi - lo : 1;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const v = (p.T[(i + 1) * W + j + 1] - lo) / span;
      pixels[i * N + j] = Math.round(255 * Math.min(1, Math.max(0, v)));
    }
  }
  writeAtomic("temperature.pgm", Buffer.concat([header, pixels]));
}

const fmt = (v) => v.toFixed(3).padStart(9);
const sci = (v) => v.toExponential(3);

// ---- the run ----------------------------------------------------------------------------------

async function run(c) {
  const started = performance.now();
  const p = createPlate(c);
  mkdirSync("fields", { recursive: true });
  let terminated = false;
  process.on("SIGTERM", () => {
    terminated = true;
  });
  console.log(
    `heat2d${c.title ? ` (${c.title})` : ""}: ${p.N}x${p.N} nodes, h=${sci(p.h)}, alpha=${c.alpha}, ` +
      `dt=${sci(p.dt)} (cfl ${(4 * p.r).toFixed(3)}), ${p.steps} steps to t=${sci(p.steps * p.dt)}, ` +
      `${c.boundary} boundaries`,
  );
  const initial = measure(p);
  const scale = {
    lo: Math.min(initial.minTemperature, c.boundaryTemperature),
    hi: Math.max(initial.maxTemperature, c.boundaryTemperature),
  };
  const result = await march(p, c, initial, scale, () => terminated);
  writeResults(p, c, initial, scale, result, performance.now() - started);
  return result.status === "interrupted" ? EXIT_SIGTERM : 0;
}

/** The time loop: steps, progress lines, field snapshots, and the running checks. */
async function march(p, c, initial, scale, isTerminated) {
  const progressEvery = c.progressInterval || Math.max(1, Math.round(p.steps / 20));
  const slack = 1e-12 * Math.max(1, Math.abs(scale.hi), Math.abs(scale.lo));
  const r = {
    n: 0,
    status: "completed",
    inflow: 0,
    residual: 0,
    maxPrincipleHeld: true, // max never rises, min never falls, step after step
    fields: [writeField(p, 0)],
    history: [{ step: 0, time: 0, ...initial, residual: 0 }],
  };
  let last = { max: initial.maxTemperature, min: initial.minTemperature };
  let sliceStart = performance.now();
  while (r.n < p.steps) {
    if (!p.insulated) r.inflow += dirichletInflow(p, p.T);
    r.residual = step(p) / p.dt;
    const n = ++r.n;
    if (n % 8 === 0 || n === p.steps) {
      // The max principle, checked on a sample: a full scan every step would double the cost.
      const m = measure(p);
      if (m.maxTemperature > last.max + slack || m.minTemperature < last.min - slack) {
        r.maxPrincipleHeld = false;
      }
      last = { max: m.maxTemperature, min: m.minTemperature };
    }
    const converged = c.tolerance > 0 && r.residual < c.tolerance;
    if (converged) r.status = "converged";
    const isLast = n === p.steps || converged;
    if (n % progressEvery === 0 || isLast) {
      const m = measure(p);
      r.history.push({ step: n, time: n * p.dt, ...m, residual: r.residual });
      console.log(
        `step ${String(n).padStart(String(p.steps).length)}/${p.steps}  t=${sci(n * p.dt)}  ` +
          `Tmax=${fmt(m.maxTemperature)}  Tmean=${fmt(m.meanTemperature)}  residual=${sci(r.residual)}`,
      );
    }
    if ((c.outputInterval > 0 && n % c.outputInterval === 0) || isLast)
      r.fields.push(writeField(p, n));
    if (converged) break;
    if (performance.now() - sliceStart > YIELD_EVERY_MS) {
      // The loop is synchronous: yield now and then so that a SIGTERM gets delivered.
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
      if (isTerminated()) {
        r.status = "interrupted";
        if (r.fields.at(-1) !== fieldName(n, p.steps)) r.fields.push(writeField(p, n));
        break;
      }
    }
  }
  return r;
}

/** summary.json, temperature.pgm and the final log line. */
function writeResults(p, c, initial, scale, r, wallMs) {
  const final = measure(p);
  // energy(t) - energy(0) must equal the heat that came in through the edges (0 if insulated).
  const error = final.energy - initial.energy - r.inflow;
  const energyScale = Math.max(
    Math.abs(initial.energy),
    Math.abs(final.energy),
    Math.abs(r.inflow),
  );
  const relativeError = energyScale > 0 ? Math.abs(error) / energyScale : 0;
  const withinScale =
    final.maxTemperature <= scale.hi + 1e-9 && final.minTemperature >= scale.lo - 1e-9;
  const summary = {
    solver: "heat2d",
    title: c.title,
    status: r.status,
    case: c,
    dx: p.h,
    dt: p.dt,
    steps: r.n,
    plannedSteps: p.steps,
    simulatedTime: r.n * p.dt,
    ...final,
    residual: r.residual,
    initial,
    energyBalance: { boundaryInflow: r.inflow, error, relativeError },
    checks: {
      maxPrinciple: r.maxPrincipleHeld && withinScale,
      energyBalance: relativeError < 1e-6,
    },
    // The image spans the final field's own range: on the initial scale a decayed spot is all black.
    image: { file: "temperature.pgm", black: final.minTemperature, white: final.maxTemperature },
    fields: r.fields,
    history: r.history,
    wallTimeMs: Math.round(wallMs),
  };
  writePgm(p, final.minTemperature, final.maxTemperature);
  writeAtomic("summary.json", JSON.stringify(summary, null, 2) + "\n");
  console.log(
    `${r.status}: ${r.n} steps, t=${sci(r.n * p.dt)}, Tmax=${final.maxTemperature.toFixed(4)}, ` +
      `Tmean=${final.meanTemperature.toFixed(4)}, energy=${sci(final.energy)} ` +
      `(balance error ${sci(relativeError)}), wall ${(wallMs / 1000).toFixed(2)} s`,
  );
}

try {
  process.exitCode = await run(loadCase());
} catch (error) {
  if (error instanceof CaseError) {
    console.error(`heat2d: invalid ${CASE_FILE}: ${error.message}`);
    process.exitCode = EXIT_INVALID_CASE;
  } else {
    console.error(`heat2d: ${error instanceof Error ? error.stack : String(error)}`);
    process.exitCode = 1;
  }
}
