#!/usr/bin/env node
// The `slipway` command. Runs under the project's Node 24, which loads the TypeScript
// sources directly (type stripping). The environment is read here and handed down.
import process from "node:process";
import { main } from "../src/cli/main.ts";

process.exitCode = await main(process.argv.slice(2), process.env);
