#!/usr/bin/env node
// Thin launcher: the CLI is compiled to build/ by `npm install` (prepare) or `npm run build`.
import "../build/src/cli/main.js";
