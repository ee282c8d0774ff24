/**
 * `dkey`: the command line of ble-digital-key, both sides (docs/KEY-MODULE.md).
 *
 * Parsing is commander's (exact-pinned): it is the most used Node CLI library, has no
 * dependencies of its own, ships its own types, and gives nested commands, --help on every
 * command and typed errors we turn into one sentence. Every failure prints one sentence on
 * stderr and exits with a code from EXIT; `--debug` adds the stack.
 */
import fs from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { COMMAND } from '../protocol/constants.js';
import { auditLine, type AdminRequest, type KeyView } from './admin.js';
import { doctor } from './doctor.js';
import { CliError, EXIT, explain, sentence, usage } from './errors.js';
import { inspect, inspectLines } from './inspect.js';
import { emit, type GlobalOptions } from './output.js';
import * as phone from './phone.js';
import * as vehicle from './vehicle.js';
import type { AuditEvent } from '../vehicle/store.js';

const EXIT_HELP = `
Exit codes:
  0  done
  1  unexpected failure (rerun with --debug and report it)
  2  bad flags or arguments: nothing was done
  3  the car refused (wrong pairing code, key not enrolled, revoked or suspended, command not granted)
  4  could not reach the other side (no daemon, nothing on the socket, no Bluetooth adapter)
  5  the store or home is missing, corrupt, locked, insecure or owned by another user
  6  no answer after the command left: it may have run, check the car
`;

type Action = (args: string[], o: Record<string, unknown>) => Promise<void>;

/** Wraps an action: positional args, then every option (globals included). */
function act(f: Action): (...a: unknown[]) => Promise<void> {
  return async (...a: unknown[]) => {
    const cmd = a[a.length - 1] as Command;
    await f(cmd.args, cmd.optsWithGlobals());
  };
}

function g(o: Record<string, unknown>): GlobalOptions {
  return { json: o.json === true, debug: o.debug === true };
}

/** `--store`: the key module's directory. */
function storeOption(): Option {
  return new Option('--store <dir>', 'the key module\'s store directory (0700)').env('DKEY_STORE').default('.dkey-vehicle');
}
/** `--store` and `--control`: where a vehicle command finds the store and its daemon. */
function storeOptions(c: Command, control = 'the daemon\'s control socket (default STORE/control.sock)'): Command {
  return c.addOption(storeOption()).option('--control <path>', control);
}
/** `--home`: the phone's directory. */
function homeOption(c: Command): Command {
  return c.addOption(new Option('--home <dir>', 'the phone\'s home directory: device key and store (0700)').env('DKEY_HOME').default('.dkey-phone'));
}
/** `--vehicle`: which paired car. */
function vehicleOption(c: Command): Command {
  return c.option('--vehicle <id>', 'which paired car (hex id or a unique prefix); default the only one');
}
/** The options of a phone command that talks to the car. */
function linkOptions(c: Command): Command {
  return vehicleOption(c)
    .option('--socket <path>', 'reach the car over the loopback link: a unix socket path, or :PORT for TCP on 127.0.0.1')
    .option('--ble', 'reach the car over Bluetooth LE (noble)')
    .option('--timeout <ms>', 'how long to scan or wait for the car', '15000');
}
/** A `dkey phone` command with `--home`, plus the link options when it talks to the car. */
function phoneCommand(p: Command, spec: string, description: string, talksToCar: boolean): Command {
  const c = homeOption(p.command(spec).description(description));
  return talksToCar ? linkOptions(c) : c;
}

function vehicleCommands(program: Command): void {
  const v = program.command('vehicle').description('the key module: identity, daemon, local admin');
  const admin = (name: string, desc: string, req: (args: string[], o: Record<string, unknown>) => AdminRequest, show: (r: unknown) => string[]) =>
    storeOptions(v.command(name).description(desc)).action(
        act(async (args, o) => {
          const r = await vehicle.admin(o as unknown as vehicle.VehicleCliOptions, req(args, o));
          emit(g(o), r, show(r));
        }),
      );

  v.command('init')
    .description('create the store and the vehicle identity; print the vehicle id and fingerprint')
    .addOption(storeOption())
    .action(
      act(async (_a, o) => {
        const r = await vehicle.init(o as unknown as vehicle.VehicleCliOptions);
        emit(g(o), r, [`${r.created ? 'created' : 'already initialised:'} vehicle ${r.vehicleId}`, `fingerprint ${r.fingerprint}`, `${r.keys} key(s) enrolled`]);
      }),
    );

  storeOptions(v.command('serve').description('run the key-module daemon: phones over --socket and/or --ble, admin over --control'), 'control socket, mode 0600 (default STORE/control.sock)')
    .option('--socket <path>', 'serve the loopback link on a unix socket path, or :PORT for TCP on 127.0.0.1')
    .option('--ble', 'serve over Bluetooth LE (bleno; stop bluetoothd first)')
    .option('--on-command <exec>', 'run EXEC per command, JSON on stdin; exit 0 = OK (stdout is the result), else HANDLER_FAILED')
    .option('--handler-timeout <ms>', 'deadline of a command handler; past it the phone hears HANDLER_TIMEOUT', '3000')
    .option('--mtu <n>', 'ATT MTU the loopback link offers (23..517)', '185')
    .action(act(async (_a, o) => vehicle.serve(o as unknown as vehicle.ServeOptions)));

  admin('pair', 'open a pairing window on the running daemon and print the code', (_a, o) => {
    const ttl = Number(o.ttl);
    if (!Number.isSafeInteger(ttl) || ttl < 10 || ttl > 3600) throw usage('"--ttl" must be a whole number of seconds from 10 to 3600');
    return { op: 'pair', ttlSeconds: ttl, card: o.card === true };
  }, (r) => {
    const x = r as { code: string | null; expiresAt: string };
    return [x.code ? `pairing code ${x.code}` : 'pairing window open for the factory card\'s code', `window open until ${x.expiresAt}`];
  })
    .option('--ttl <seconds>', 'how long the window stays open', '300')
    .option('--card', 'use the factory pairing card\'s code (see pairing-card) instead of a new one');

  admin('keys', 'list the enrolled keys', () => ({ op: 'keys' }), (r) => {
    const keys = r as KeyView[];
    if (keys.length === 0) return ['no keys enrolled'];
    return keys.map((k) => `${k.keyId}  ${k.role.padEnd(6)} ${k.suspended ? 'SUSPENDED ' : ''}${JSON.stringify(k.name)}  ${k.commands ? k.commands.join(',') : 'all commands'}${k.notAfter ? ` until ${k.notAfter}` : ''}`);
  });
  for (const op of ['revoke', 'suspend', 'resume'] as const) {
    admin(`${op} <keyId>`, `${op} a key (hex id or unique prefix)${op === 'revoke' ? '; keys it shared go with it' : ''}`, (args) => ({ op, keyId: args[0]! }), (r) => {
      const x = r as { keyId?: string; revoked?: string; name?: string };
      return [`${{ revoke: 'revoked', suspend: 'suspended', resume: 'resumed' }[op]} ${x.revoked ?? x.keyId}${x.name ? ` (${JSON.stringify(x.name)})` : ''}`];
    });
  }
  storeOptions(v.command('audit').description('print the audit log (newest last); --follow streams new events from the daemon'))
    .option('--limit <n>', 'only the last N records')
    .option('--follow', 'keep printing new events until the daemon stops or Ctrl-C')
    .action(
      act(async (_a, o) => {
        const limit = o.limit === undefined ? undefined : Number(o.limit);
        if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) throw usage('"--limit" must be a positive whole number');
        const vo = o as unknown as vehicle.VehicleCliOptions;
        const records = (await vehicle.admin(vo, { op: 'audit', ...(limit ? { limit } : {}) }, { requireDaemon: o.follow === true })) as AuditEvent[];
        emit(g(o), records, records.length === 0 ? 'no audit records' : records.map(auditLine));
        if (o.follow) await vehicle.followAudit(vo, (e) => emit(g(o), e, auditLine(e as unknown as AuditEvent)));
      }),
    );
  admin('reset', 'factory reset: erase every key, ticket and record and make a new identity (needs --confirm)', (_a, o) => {
    if (o.confirm !== true) throw usage('a factory reset erases every key and the identity: add --confirm if that is what you want');
    return { op: 'reset', confirm: true };
  }, (r) => [`factory reset done: new vehicle ${(r as { vehicleId: string }).vehicleId}`]).option('--confirm', 'yes, erase everything');
  admin('pairing-card', 'make a factory pairing code and store its verifier record (print the code on a card)', (_a, o) => ({ op: 'pairing-card', ...(o.digits ? { digits: Number(o.digits) } : {}) }), (r) => {
    const x = r as { code: string; record: string };
    return [`pairing card code ${x.code}`, `verifier record ${x.record}`, 'the module keeps only the record; open a window for it with "dkey vehicle pair --card"'];
  });
}

function phoneCommands(program: Command): void {
  const p = program.command('phone').description('a phone key on this machine, over --ble or the loopback --socket');
  phoneCommand(p, 'init', 'create the device key (file 0600) and store; print the public key', false)
    .action(
      act(async (_a, o) => {
        const r = await phone.initHome(String(o.home));
        emit(g(o), r, [`${r.created ? 'created' : 'already initialised:'} phone key ${r.keyId}`, `public key ${r.publicKey}`]);
      }),
    );
  phoneCommand(p, 'pair', 'pair as an owner with the code the car shows', true)
    .requiredOption('--code <code>', 'the pairing code')
    .option('--name <name>', 'this phone\'s name in the car\'s key list')
    .action(
      act(async (_a, o) => {
        const r = await phone.pair(o as unknown as phone.PhoneOptions, String(o.code), { ...(o.name ? { keyName: String(o.name) } : {}) });
        const id = Buffer.from(r.vehicleId).toString('hex');
        emit(g(o), { vehicleId: id, name: r.name }, `paired with vehicle ${id}`);
      }),
    );
  for (const name of Object.keys(COMMAND) as Array<keyof typeof COMMAND>) {
    phoneCommand(p, name, `${name} the car`, true).action(
      act(async (_a, o) => {
        const r = await phone.runCommand(o as unknown as phone.PhoneOptions, name);
        const data = r.data ? Buffer.from(r.data).toString('utf8') : undefined;
        emit(g(o), { ...r, data: r.data ? Buffer.from(r.data).toString('hex') : undefined }, `${name}: ${r.code}${data ? ` (${data.trim()})` : ''}`);
      }),
    );
  }
  vehicleOption(phoneCommand(p, 'share', 'sign a grant for a friend\'s key and print the share text', false))
    .requiredOption('--to <publicKey>', 'the friend\'s public key (hex, from "dkey phone init")')
    .option('--commands <list>', 'commands granted, comma-separated', 'unlock,lock')
    .requiredOption('--until <date>', 'expiry: an ISO date or a duration such as 2d, 12h')
    .option('--name <name>', 'the friend\'s key name in the car')
    .option('--can-share', 'let the friend share on (never wider rights)')
    .option('--uses <n>', 'limit the number of commands')
    .action(
      act(async (_a, o) => {
        const uses = o.uses === undefined ? undefined : Number(o.uses);
        if (uses !== undefined && !(Number.isSafeInteger(uses) && uses > 0)) throw usage('"--uses" must be a positive whole number');
        const r = await phone.share(o as unknown as phone.PhoneOptions, String(o.to), phone.parseCommands(String(o.commands)), phone.parseUntil(String(o.until), Date.now()), {
          ...(o.name ? { name: String(o.name) } : {}),
          canShare: o.canShare === true,
          ...(uses !== undefined ? { uses } : {}),
        });
        emit(g(o), r, r.text);
      }),
    );
  phoneCommand(p, 'accept <shareText>', 'import a share text a key holder sent ("-" reads stdin)', false)
    .option('--name <name>', 'a name for the car on this phone')
    .action(
      act(async (args, o) => {
        const text = args[0] === '-' ? fs.readFileSync(0, 'utf8') : args[0]!;
        const r = await phone.accept(o as unknown as phone.PhoneOptions, text, o.name ? String(o.name) : undefined);
        emit(g(o), r, `accepted a key for vehicle ${r.vehicleId}; the car enrolls it at the first unlock`);
      }),
    );
  phoneCommand(p, 'cars', 'list the cars this phone knows', false).action(
    act(async (_a, o) => {
      const r = await phone.cars(o as unknown as phone.PhoneOptions);
      emit(g(o), r, r.length === 0 ? 'no cars' : r.map((c) => `${c.vehicleId}  ${JSON.stringify(c.name)}${c.pendingGrants ? ' (shared key, not used yet)' : ''}`));
    }),
  );
  phoneCommand(p, 'keys', 'list the car\'s keys (owner, over the air)', true).action(
    act(async (_a, o) => {
      const keys = await phone.listKeys(o as unknown as phone.PhoneOptions);
      const view = keys.map((k) => ({ keyId: Buffer.from(k.keyId).toString('hex'), name: k.name, owner: k.owner, suspended: k.suspended, ...(k.commands ? { commands: k.commands } : {}) }));
      emit(g(o), view, view.map((k) => `${k.keyId}  ${k.owner ? 'owner ' : 'friend'} ${k.suspended ? 'SUSPENDED ' : ''}${JSON.stringify(k.name)}`));
    }),
  );
  phoneCommand(p, 'revoke <keyId>', 'revoke a key on the car (owner, over the air)', true).action(
    act(async (args, o) => {
      const r = await phone.revokeKey(o as unknown as phone.PhoneOptions, args[0]!);
      emit(g(o), r, `revoked ${r.revoked} (${JSON.stringify(r.name)})`);
    }),
  );
  phoneCommand(p, 'audit', 'read the car\'s audit log (owner, over the air)', true).action(
    act(async (_a, o) => {
      const records = await phone.readAudit(o as unknown as phone.PhoneOptions);
      const view = records.map((r) => ({ time: new Date(r.timeMs).toISOString(), outcome: r.outcome, ...(r.keyId ? { keyId: Buffer.from(r.keyId).toString('hex') } : {}), ...(r.command !== undefined ? { command: r.command } : {}), ...(r.path ? { path: r.path } : {}) }));
      emit(g(o), view, view.map((r) => auditLine({ timeMs: Date.parse(r.time), outcome: r.outcome, ...(r.keyId ? { keyId: r.keyId } : {}), ...(r.command !== undefined ? { command: r.command } : {}), ...(r.path ? { path: r.path as AuditEvent['path'] } : {}) })));
    }),
  );
  phoneCommand(p, 'scan', 'list digital-key cars in Bluetooth range (by pseudonym)', true).action(
    act(async (_a, o) => {
      const r = await phone.scan(o as unknown as phone.PhoneOptions);
      emit(g(o), r, r.length === 0 ? 'no digital-key car heard' : r.map((c) => `${c.address}  ${c.rssi === null ? "RSSI n/a" : `${c.rssi} dBm`}  pseudonym ${c.pseudonym}`));
    }),
  );
}

/** Builds the program (exported for tests of the parser). */
export function buildProgram(): Command {
  const program = new Command('dkey')
    .description('ble-digital-key: a phone as a car key over Bluetooth LE, no server. Both sides: the key module (vehicle) and a phone.')
    .version('0.1.0')
    .option('--json', 'machine-readable output (one JSON document; the daemon prints one JSON object per line)')
    .option('--debug', 'print the stack trace of a failure')
    .configureHelp({ showGlobalOptions: true });
  vehicleCommands(program);
  phoneCommands(program);
  program
    .command('inspect <text>')
    .description('decode a share text, grant, pairing record or protocol message (hex or base64url; "-" reads stdin)')
    .action(
      act(async (args, o) => {
        const r = inspect(args[0] === '-' ? fs.readFileSync(0, 'utf8') : args[0]!);
        emit(g(o), r, inspectLines(r));
      }),
    );
  program
    .command('doctor')
    .description('check Node, the BLE packages, adapter permissions, bluetoothd and the store / home permissions')
    .option('--store <dir>', 'also check this key-module store')
    .option('--home <dir>', 'also check this phone home')
    .action(
      act(async (_a, o) => {
        const checks = doctor({ ...(o.store ? { store: String(o.store) } : {}), ...(o.home ? { home: String(o.home) } : {}) });
        emit(g(o), checks, checks.map((c) => `${c.ok ? 'ok  ' : c.optional ? 'warn' : 'FAIL'}  ${c.name}: ${c.detail}`));
        if (checks.some((c) => !c.ok && !c.optional)) process.exitCode = EXIT.store;
      }),
    );
  // Every command: parse errors thrown (main() turns them into one sentence), exit codes in --help.
  for (const c of [program, ...allCommands(program)]) c.exitOverride().configureOutput({ outputError: () => undefined }).addHelpText('after', EXIT_HELP);
  return program;
}

function allCommands(c: Command): Command[] {
  return c.commands.flatMap((s) => [s, ...allCommands(s)]);
}

/** Runs dkey with `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return EXIT.ok; // --help, --version
      process.stderr.write(`${sentence(e.message.replace(/^error: /, ''))} See --help.\n`);
      return EXIT.usage;
    }
    const { exitCode, message } = explain(e);
    process.stderr.write(`${message}\n`);
    if (debug && e instanceof Error) process.stderr.write(`${e.stack ?? ''}\n`);
    return exitCode;
  }
}

export { CliError, EXIT };
