// ESLint flat config: type-aware typescript-eslint rules plus the layer boundaries of STYLE.md.
import tseslint from "typescript-eslint";
import importX from "eslint-plugin-import-x";

const layer = (name) => `./src/${name}`;
// [target layer, layers it must not import]
const forbidden = [
  [
    "domain",
    [
      "protocol",
      "store",
      "blobs",
      "services",
      "server",
      "providers",
      "runner",
      "simulators",
      "sdk",
      "cli",
      "config",
    ],
  ],
  [
    "protocol",
    ["store", "blobs", "services", "server", "providers", "runner", "sdk", "cli", "config"],
  ],
  ["store", ["protocol", "services", "server", "providers", "runner", "sdk", "cli"]],
  ["blobs", ["protocol", "store", "services", "server", "providers", "runner", "sdk", "cli"]],
  ["services", ["server", "providers", "runner", "sdk", "cli", "store/sqlite", "store/postgres"]],
  ["server", ["providers", "runner", "sdk", "cli", "store/sqlite", "store/postgres"]],
  ["providers", ["store", "services", "server", "cli"]],
  ["runner", ["store", "services", "server", "providers", "cli"]],
  ["simulators", ["store", "blobs", "services", "server", "providers", "runner", "sdk", "cli"]],
  ["sdk", ["store", "blobs", "services", "server", "providers", "runner", "cli"]],
  ["cli", ["store", "services", "blobs", "providers"]],
  [
    "lib",
    [
      "domain",
      "protocol",
      "store",
      "blobs",
      "services",
      "server",
      "providers",
      "runner",
      "simulators",
      "sdk",
      "cli",
      "config",
    ],
  ],
];
const zones = forbidden.flatMap(([target, froms]) =>
  froms.map((from) => ({
    target: layer(target),
    from: layer(from),
    message: `the ${target} layer must not import ${from} (see STYLE.md, layers)`,
  })),
);
// Wiring files may reach across layers on purpose.
const wiring = [
  "src/server/main.ts",
  "src/cli/commands/server/**",
  "src/cli/commands/runner/**",
  "src/cli/commands/db/**",
];

export default tseslint.config(
  {
    ignores: [
      "build/**",
      "node_modules/**",
      "eslint.config.js",
      "bin/**",
      "examples/**/input/**",
      "examples/**/*.mjs",
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "import-x": importX },
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            {
              from: "package",
              package: "node:test",
              name: [
                "describe",
                "it",
                "test",
                "suite",
                "before",
                "after",
                "beforeEach",
                "afterEach",
              ],
            },
          ],
        },
      ],
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/only-throw-error": "error",
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "import-x/no-cycle": "error",
      "import-x/no-restricted-paths": ["error", { zones }],
      "no-restricted-properties": [
        "error",
        { object: "process", property: "exit", message: "only config/ and main.ts files may exit" },
      ],
    },
  },
  {
    files: [
      "src/**/main.ts",
      "src/config/**",
      "src/cli/**",
      "tests/**",
      "examples/**",
      "bench/**",
      ...wiring,
    ],
    rules: { "no-restricted-properties": "off" },
  },
  { files: wiring, rules: { "import-x/no-restricted-paths": "off" } },
  {
    files: ["tests/**"],
    rules: {
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
);
