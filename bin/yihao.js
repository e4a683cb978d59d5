#!/usr/bin/env node
// Package entry for `yihao <command>`: the CLI is TypeScript run by Node's type stripping (Node 22.18+).
import '../src/cli/main.ts';
