#!/usr/bin/env node
// The `async-executions` bin: the CLI is TypeScript (cli/main.ts), run through tsx as every script
// of the package is, so `npx async-executions` works from the checkout and from an install.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
